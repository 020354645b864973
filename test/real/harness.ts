// The real tier's ground rules: an engine must answer (under CI its absence fails the run; elsewhere the tier says
// so in one line and skips), the stand-in images must be built, one real-tier run at a time on this machine (a lock),
// and never on an engine that holds a real Stackyard installation. Cleans every stackyard-* project, volume and the
// shared network it made, and the swarm tier's stacks and secrets. Used only by test/real/*.test.ts.
import { test, before, after } from 'node:test'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ciRequiresEngine, composeVersion, engineAnswers } from './engine.ts'
import { build, missingImages } from '../standins/build.ts'
import { tempRepo, type TempRepo, type TempRepoOptions } from '../helpers/repo.ts'

export interface DockerOut { code: number; stdout: string; stderr: string }

/** `docker …` with argv only; never a shell */
export function docker(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): DockerOut {
  const r = spawnSync('docker', args, { encoding: 'utf8', input: opts.input, env: { ...process.env, ...opts.env }, maxBuffer: 1 << 26, timeout: 300_000 })
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** Why the real tier cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  if (!engineAnswers()) return 'no Docker engine answers (test/deps.sh installs one; npm test starts dockerd)'
  if (!composeVersion()) return 'Docker Compose v2 is not installed (test/deps.sh installs it)'
  const missing = missingImages()
  if (missing.length) return `stand-in images missing: ${missing.join(', ')} (npm test builds them: node --import=#boot test/standins/build.ts)`
  const foreign = foreignInstallation()
  if (foreign) return foreign
  return undefined
}

/** a Stackyard installation not made by the real tier (its compose working dir is not one of our temp copies) */
function foreignInstallation(): string | undefined {
  const r = docker(['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', '{{.Label "com.docker.compose.project"}}\t{{.Label "com.docker.compose.project.working_dir"}}'])
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [project, dir = ''] = line.split('\t')
    if (project.startsWith('stackyard-') && !dir.startsWith(join(tmpdir(), 'stackyard-real-')))
      return `the engine runs a Stackyard installation (${project} from ${dir}); the real tier would replace it, so it does not run here`
  }
  // a swarm installation: a stackyard-* service that bind-mounts a checkout other than our temp copies
  if (docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout.trim() === 'active') {
    const names = docker(['service', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n.startsWith('stackyard-'))
    for (const name of names) {
      const sources = docker(['service', 'inspect', '--format', '{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{if eq .Type "bind"}}{{.Source}}\n{{end}}{{end}}', name]).stdout.split('\n').filter(Boolean)
      const theirs = sources.find((src) => !src.startsWith(join(tmpdir(), 'stackyard-real-')))
      if (theirs) return `the swarm runs a Stackyard installation (service ${name} mounts ${theirs}); the real tier would remove it, so it does not run here`
    }
  }
  return undefined
}

const LOCK = join(tmpdir(), 'stackyard-real-tier.lock')
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

/** one real-tier run at a time on this machine; a lock left by a dead process is taken over */
async function acquireLock(): Promise<void> {
  const deadline = Date.now() + 45 * 60_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      writeFileSync(join(LOCK, 'pid'), String(process.pid))
      return
    } catch {
      let holder = 0
      try { holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8')) } catch {}
      if (holder && !alive(holder)) { rmSync(LOCK, { recursive: true, force: true }); continue }
      if (Date.now() > deadline) throw new Error(`the real-tier lock ${LOCK} is held by pid ${holder}`)
      await new Promise((r) => setTimeout(r, 2000))
    }
  }
}
function releaseLock() {
  try { if (Number(readFileSync(join(LOCK, 'pid'), 'utf8')) === process.pid) rmSync(LOCK, { recursive: true, force: true }) } catch {}
}

/** Whether this engine is a swarm manager (the swarm tier's stacks may be on it). */
export function swarmActive(): boolean {
  return docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout.trim() === 'active'
}

/** Swarm leftovers of the swarm tier: stackyard-* stacks (their services), the secrets and configs Stackyard made. */
function cleanSwarm(): void {
  if (!swarmActive()) return
  const services = docker(['service', 'ls', '--format', '{{.ID}}\t{{.Name}}']).stdout.split('\n').filter((l) => l.split('\t')[1]?.startsWith('stackyard-')).map((l) => l.split('\t')[0])
  if (services.length) docker(['service', 'rm', ...services])
  // a removed service's containers go a moment later; volumes and the network need them gone
  for (let i = 0; i < 60 && docker(['ps', '-aq', '--filter', 'label=com.docker.stack.namespace']).stdout.split('\n').some((id) => id && docker(['inspect', '--format', '{{index .Config.Labels "com.docker.stack.namespace"}}', id]).stdout.startsWith('stackyard-')); i++)
    spawnSync('sleep', ['1'])
  const secrets = docker(['secret', 'ls', '-q', '--filter', 'label=io.stackyard.managed=1']).stdout.split('\n').filter(Boolean)
  if (secrets.length) docker(['secret', 'rm', ...secrets])
  const configs = docker(['config', 'ls', '-q', '--filter', 'label=io.stackyard.managed=1']).stdout.split('\n').filter(Boolean)
  if (configs.length) docker(['config', 'rm', ...configs])
}

/** Removes every container, volume and network of the stackyard-* projects and stacks, and the shared network. */
export function cleanEngine(): void {
  cleanSwarm()
  const ids = docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project']).stdout.split('\n').filter(Boolean)
  const ours = ids.filter((id) => docker(['inspect', '--format', '{{index .Config.Labels "com.docker.compose.project"}}', id]).stdout.trim().startsWith('stackyard-'))
  if (ours.length) docker(['rm', '-f', '-v', ...ours])
  const vols = docker(['volume', 'ls', '-q']).stdout.split('\n').filter((v) => v.startsWith('stackyard-'))
  if (vols.length) docker(['volume', 'rm', '-f', ...vols])
  const nets = docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n === 'ai-network' || n.startsWith('stackyard-'))
  for (const n of nets) {
    // an overlay is let go by the swarm a few seconds after the last task on it
    for (let i = 0; i < 20 && docker(['network', 'rm', n]).stderr.includes('in use by task'); i++) spawnSync('sleep', ['1'])
  }
}

/**
 * Declares a real-tier test file: skipped with one line when no engine can run it (a failure under CI), else holds
 * the machine's real-tier lock and starts and ends on a clean engine. Returns whether the tier runs.
 */
export function realTier(title: string): boolean {
  const why = unavailable()
  if (why) {
    if (ciRequiresEngine()) test(`${title}: the real tier must run under CI`, () => { throw new Error(why) })
    else test(`${title}: real tier skipped`, { skip: why }, () => {})
    return false
  }
  before(async () => {
    await acquireLock()
    // another checkout's run may have re-tagged a stand-in from its own recipe while this one waited for the lock
    if (missingImages().length) build()
    cleanEngine()
  })
  after(() => {
    if (!process.env.STACKYARD_REAL_KEEP) cleanEngine()
    releaseLock()
  })
  return true
}

/**
 * Where the real tier's platforms publish their local ports: a loopback address of their own, so that they never
 * meet the suite's port checks or a program of this machine on 127.0.0.1.
 */
export const BIND = '127.0.0.2'

/** A temporary clone of the repository whose tasks talk to the real engine (its default bind address: BIND). */
export function realRepo(opts: Omit<TempRepoOptions, 'engine'> = {}): TempRepo {
  const repo = tempRepo({ ...opts, engine: 'real' })
  repo.write('.env.global', repo.read('.env.global').replace(/^LOCAL_BIND_ADDRESS=.*$/m, `LOCAL_BIND_ADDRESS=${BIND}`))
  return repo
}

export interface ContainerInfo { name: string; id: string; started: string; state: string; health: string }

/** containers of a compose project, by service */
export function containers(project: string): Map<string, ContainerInfo> {
  const ids = docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).stdout.split('\n').filter(Boolean)
  const m = new Map<string, ContainerInfo>()
  if (!ids.length) return m
  const r = docker(['inspect', '--format', '{{index .Config.Labels "com.docker.compose.service"}}\t{{.Name}}\t{{.Id}}\t{{.State.StartedAt}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{end}}', ...ids])
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [service, name, id, started, state, health] = line.split('\t')
    m.set(service, { name: name.replace(/^\//, ''), id, started, state, health })
  }
  return m
}
