// Setup step 1, preflight: Node version, Docker and Compose v2 (a missing or unreachable Docker is recorded, not
// fatal: the configuration is still written), the GPU (the matching hardware profile is offered later), and, once
// the answers are in, the private ports. Reads only.
import { ConfigError } from '../../core/errors.ts'
import { checkDocker, checkPorts } from '../../docker/preflight.ts'
import type { HardwareProfile } from '../../model/x-fields.ts'
import { activeRoutes } from '../../model/routes.ts'
import { readSettings } from '../../model/settings.ts'
import type { SetupContext } from '../context.ts'

export const MIN_NODE: [number, number] = [20, 12]

type Ctx = Pick<SetupContext, 'probe' | 'facts' | 'log' | 'warnings'>

export async function preflight(ctx: Ctx): Promise<void> {
  const [major, minor] = ctx.probe.nodeVersion.split('.').map(Number)
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1]))
    throw new ConfigError(`Node.js ${ctx.probe.nodeVersion} is too old: Stackyard needs ${MIN_NODE.join('.')} or newer`, { hint: 'install Node.js 20 LTS or newer (https://nodejs.org/en/download), then run npm ci && npx zx tasks/setup.ts again' })
  try {
    ctx.facts.docker = await checkDocker(ctx.probe)
    ctx.log.success(`Node.js ${ctx.probe.nodeVersion}, Docker ${ctx.facts.docker.serverVersion}, Compose ${ctx.facts.docker.composeVersion}`)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    ctx.facts.dockerProblem = { message: err.message, hint: err.hint }
    ctx.warnings.push(`${err.message}: the configuration is written anyway; the platform starts once Docker works`)
    ctx.log.warn(`${err.message} (setup continues: it writes the configuration and says how to go on)`)
  }
  const gpu = await detectGpu(ctx)
  ctx.facts.gpu = gpu.profile
  if (gpu.note) ctx.log.info(gpu.note)
}

/** The hardware profile the machine can use: an NVIDIA GPU with Docker's nvidia runtime, an AMD GPU (ROCm), else none found. */
export async function detectGpu(ctx: Pick<Ctx, 'probe' | 'facts'>): Promise<{ profile?: HardwareProfile; note?: string }> {
  if (ctx.probe.remote)
    return ctx.facts.docker?.runtimes.includes('nvidia') ? { profile: 'gpu-nvidia', note: 'the Docker engine (--context) has the nvidia runtime: the gpu-nvidia profile is offered' } : { profile: undefined }
  let name = ''
  try {
    const r = await ctx.probe.exec('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { nothrow: true, timeoutMs: 15_000 })
    if (r.exitCode === 0) name = r.stdout.trim().split('\n')[0] ?? ''
  } catch {
    // no nvidia-smi
  }
  if (name) {
    const runtimes = ctx.facts.docker?.runtimes
    if (runtimes && !runtimes.includes('nvidia'))
      return { profile: 'cpu', note: `NVIDIA GPU found (${name}), but Docker has no nvidia runtime: install nvidia-container-toolkit (sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker) to use gpu-nvidia; cpu until then` }
    return { profile: 'gpu-nvidia', note: `NVIDIA GPU found (${name}): the gpu-nvidia profile is offered` }
  }
  if (ctx.probe.exists('/dev/kfd') && ctx.probe.exists('/dev/dri')) return { profile: 'gpu-amd', note: 'AMD GPU found (/dev/kfd, /dev/dri): the gpu-amd profile is offered' }
  return { profile: undefined }
}

/** Private environment: local ports another program holds (our own running proxy's are fine). Warnings, not errors. */
export async function portWarnings(ctx: Pick<SetupContext, 'answers' | 'registry' | 'planned' | 'probe' | 'facts'>, ours: ReadonlySet<number>): Promise<string[]> {
  if (ctx.answers.environment !== 'private' || !ctx.facts.docker || ctx.probe.remote) return []
  const values = ctx.planned()
  const settings = readSettings(values)
  const claims = activeRoutes(ctx.registry, settings, values).map((r) => ({ port: r.local_port, owner: `${r.stack}/${r.service}`, file: ctx.registry.stack(r.stack).file }))
  try {
    await checkPorts(claims, settings.bindAddress, ours, ctx.probe)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return [`${err.message} (${err.hint}); up would refuse to start`]
    throw err
  }
}
