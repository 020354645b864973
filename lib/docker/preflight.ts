// Preflight before starting stacks (up, setup): Docker present and reachable, Compose new enough, the hardware
// profile usable, the private ports free, the shared networks present. Reads through the injected runner; the one
// change (creating a network) goes through the injected change runner. Every unmet requirement is a ConfigError
// (exit 2) carrying the fix.
import { createServer } from 'node:net'
import { ConfigError } from '../core/errors.ts'
import type { Runner } from '../core/exec.ts'
import type { Logger } from '../core/log.ts'
import type { HardwareProfile } from '../model/x-fields.ts'
import { MIN_COMPOSE_VERSION } from './compose.ts'
import { parseVersion, versionAtLeast } from '../env/compose-rules.ts'
import { parseInfo } from './state.ts'
import { recordComposeVersion } from '../env/compose-rules.ts'
import { checkSecret } from '../model/secrets.ts'
import type { SecretDecl } from '../model/registry.ts'

export interface PreflightDeps {
  exec: Runner
  change: Runner
  log: Logger
  /** does this path exist (GPU device nodes) */
  exists(path: string): boolean
  /** try to listen on host:port: 'free', 'busy', or the error code (EADDRNOTAVAIL…) */
  probePort(host: string, port: number): Promise<string>
}

export interface DockerFacts {
  composeVersion: string
  serverVersion: string
  runtimes: string[]
  /** this engine is a swarm manager (`docker swarm init` was run): the swarm engine can deploy here */
  swarmManager?: true
}

const INSTALL_DOCKER = 'install Docker Engine and the Compose plugin: https://docs.docker.com/engine/install/ (Debian/Ubuntu: the docker-ce and docker-compose-plugin packages)'

/** Docker CLI present, engine reachable, Compose v2 ≥ MIN_COMPOSE_VERSION. */
export async function checkDocker(deps: Pick<PreflightDeps, 'exec'> & { root?: string; dryRun?: boolean }): Promise<DockerFacts> {
  // a missing CLI shows as the shell's 127; the CLI lists the Compose plugin's version in `docker info` (20.10+), so
  // `docker compose version` runs only when it does not
  const run = (args: string[]) => deps.exec('docker', args, { nothrow: true }).catch(() => ({ exitCode: 127, stdout: '', stderr: 'not found' }))
  const info = await run(['info', '--format', '{{json .}}'])
  if (info.exitCode === 127) throw new ConfigError('docker is not installed (no `docker` on PATH)', { hint: INSTALL_DOCKER })
  const facts = info.exitCode === 0 ? parseInfo(info.stdout) : undefined
  if (!facts) {
    const why = (info.stderr || info.stdout).trim().split('\n').slice(-2).join(' ')
    const denied = /permission denied/i.test(why)
    throw new ConfigError(`the Docker engine is not reachable${why ? `: ${why}` : ''}`, {
      hint: denied
        ? 'add yourself to the docker group (sudo usermod -aG docker $USER, then log in again), or run as root'
        : 'start it: sudo systemctl start docker (check DOCKER_HOST / docker context if you use a remote engine)',
    })
  }
  const compose = facts.composePlugin ? { exitCode: 0, stdout: facts.composePlugin } : await run(['compose', 'version', '--short'])
  const v = compose.exitCode === 0 ? parseVersion(compose.stdout) : undefined
  if (!v) throw new ConfigError('Docker Compose v2 is not available (`docker compose version` failed)', { hint: `install the docker-compose-plugin package (${MIN_COMPOSE_VERSION} or newer); the old docker-compose 1.x is not enough` })
  if (!versionAtLeast(v, MIN_COMPOSE_VERSION))
    throw new ConfigError(`Docker Compose ${v.join('.')} is too old: Stackyard needs ${MIN_COMPOSE_VERSION} or newer (up --wait-timeout, env_file required:)`, { hint: 'upgrade the docker-compose-plugin package (sudo apt-get install --only-upgrade docker-compose-plugin)' })
  // the env engine models this Compose from now on (lib/env/compose-rules.ts); a dry run records nothing
  if (deps.root && !deps.dryRun) await recordComposeVersion(deps.root, v.join('.'))
  return { composeVersion: v.join('.'), serverVersion: facts.serverVersion, runtimes: facts.runtimes, ...(facts.swarmManager ? { swarmManager: true as const } : {}) }
}

/**
 * The hardware profile can really be used: the driver answers and Docker can hand the devices to containers. On a
 * remote engine (`local: false`) only what Docker reports is checked: the driver and device nodes are on that host.
 */
export async function checkGpu(profile: HardwareProfile, facts: DockerFacts, deps: Pick<PreflightDeps, 'exec' | 'exists'>, o: { local: boolean } = { local: true }): Promise<void> {
  const fallback = 'or start with --profile cpu (set STACKYARD_PROFILE=cpu in .env to keep it)'
  if (profile === 'gpu-nvidia' && o.local) {
    let smi
    try {
      smi = await deps.exec('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { nothrow: true, timeoutMs: 15_000 })
    } catch {
      smi = { exitCode: 127, stdout: '', stderr: '' }
    }
    if (smi.exitCode !== 0 || !smi.stdout.trim())
      throw new ConfigError('profile gpu-nvidia: nvidia-smi finds no NVIDIA GPU (driver missing or not loaded)', { hint: `install the NVIDIA driver (nvidia-smi must list the GPU), ${fallback}` })
  }
  if (profile === 'gpu-nvidia') {
    if (!facts.runtimes.includes('nvidia'))
      throw new ConfigError(`profile gpu-nvidia: Docker has no nvidia runtime (runtimes: ${facts.runtimes.join(', ') || 'none'})`, {
        hint: `install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker; ${fallback}`,
      })
  }
  if (profile === 'gpu-amd' && o.local) {
    const missing = ['/dev/kfd', '/dev/dri'].filter((p) => !deps.exists(p))
    if (missing.length) throw new ConfigError(`profile gpu-amd: ${missing.join(' and ')} missing (no ROCm-capable AMD GPU driver loaded)`, { hint: `install the amdgpu/ROCm driver so that /dev/kfd and /dev/dri exist, ${fallback}` })
  }
}

export interface PortClaim {
  port: number
  /** who declares it, e.g. infrastructure/infisical-backend */
  owner: string
  /** the compose file to change it in */
  file: string
}

/**
 * Every private local port can be bound on the bind address, or is already published by our own proxy (a re-run).
 * Reports every busy port at once.
 */
export async function checkPorts(claims: readonly PortClaim[], bindAddress: string, ours: ReadonlySet<number> | (() => Promise<ReadonlySet<number>>), deps: Pick<PreflightDeps, 'probePort'>): Promise<void> {
  const busy: string[] = []
  // whose ports are ours is asked (a docker call) only when a port is taken
  let published = typeof ours === 'function' ? undefined : ours
  for (const c of claims) {
    if (published?.has(c.port)) continue
    const r = await deps.probePort(bindAddress, c.port)
    if (r === 'free') continue
    if (r === 'busy' && (published ??= await (ours as () => Promise<ReadonlySet<number>>)()).has(c.port)) continue
    if (r === 'EADDRNOTAVAIL')
      throw new ConfigError(`LOCAL_BIND_ADDRESS ${bindAddress} is not an address of this machine`, { hint: 'set LOCAL_BIND_ADDRESS=127.0.0.1 in .env (or an address `ip addr` lists)' })
    busy.push(`${bindAddress}:${c.port} (${c.owner}, ${c.file})${r === 'busy' ? '' : `: ${r}`}`)
  }
  if (busy.length)
    throw new ConfigError(`local port${busy.length > 1 ? 's' : ''} already in use by another program: ${busy.join('; ')}`, {
      hint: 'stop the program holding it (sudo ss -ltnp shows which), or give the route another x-route.local_port in its compose file',
    })
}

/** Tries to listen on host:port. */
export function probePort(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'busy' : (err.code ?? 'error')))
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve('free')))
  })
}

/**
 * Creates each external network that does not exist yet (`docker network create`, through the change runner).
 * `known` are networks a running container is attached to: they exist, so they cost no call.
 */
export async function ensureNetworks(names: readonly string[], deps: Pick<PreflightDeps, 'exec' | 'change' | 'log'>, known: ReadonlySet<string> = new Set()): Promise<string[]> {
  const created: string[] = []
  for (const name of names) {
    if (known.has(name)) continue
    const r = await deps.exec('docker', ['network', 'inspect', name], { nothrow: true })
    if (r.exitCode === 0) continue
    await deps.change('docker', ['network', 'create', name])
    deps.log.info(`network ${name} created`)
    created.push(name)
  }
  return created
}

/**
 * The declared secrets of the stacks about to start exist. `up` does not generate them: a missing encryption key on
 * an existing installation usually means a lost .env, and a fresh key would make the stored data unreadable, so the
 * user runs the generator knowingly. A value that does not fit its format is only a warning here (doctor reports it).
 */
export function checkSecrets(decls: Iterable<SecretDecl>, values: Record<string, string | undefined>, log: Pick<Logger, 'warn'>): void {
  const generate: string[] = []
  const supply: string[] = []
  for (const d of decls) {
    const problem = checkSecret(d.spec, values[d.key], values)
    if (!problem) continue
    if (problem !== 'missing') {
      log.warn(`${d.key} ${problem} (npx zx tasks/doctor.ts explains)`)
      continue
    }
    if (d.spec.format === 'external') supply.push(`${d.key} (${d.spec.description})`)
    else generate.push(d.key)
  }
  if (generate.length)
    throw new ConfigError(`missing secret${generate.length > 1 ? 's' : ''}: ${generate.join(', ')}`, {
      hint: 'generate them: npx zx tasks/secrets.ts generate (a first installation: npx zx tasks/setup.ts). If this installation had them, restore .env from its backup instead: new keys cannot read data encrypted with the old ones',
    })
  if (supply.length) throw new ConfigError(`missing value${supply.length > 1 ? 's' : ''} you supply: ${supply.join('; ')}`, { hint: 'set them in .env (or run npx zx tasks/setup.ts)' })
}
