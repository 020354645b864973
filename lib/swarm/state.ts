// What the swarm runs, read from Docker (argv only, read-only): is this engine a swarm manager, a stack's services
// with their replicas and update state, their tasks, our secrets and configs. Waiting for a stack to converge lives here too.
import { FailureError, UsageError } from '../core/errors.ts'
import type { Runner } from '../core/exec.ts'
import { SPEC_LABEL, STACK_LABEL } from './stack-file.ts'

export interface SwarmService {
  id: string
  /** the service's key in the stack file (the name without "<project>_") */
  service: string
  spec?: string
  /** desired replicas (replicated mode) */
  replicas: number
  /** tasks desired running, by current state ("running", "starting", "preparing"…) */
  tasks: Array<{ state: string; error: string }>
  /** UpdateStatus.State: updating, completed, rollback_started, rollback_completed, paused… ('' when never updated) */
  update: string
  updateMessage: string
  /** placement constraints (node.labels.io.stackyard.host == NAME, node.role == manager) */
  constraints: string[]
}

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean)

/** The engine must be a swarm manager: `docker stack deploy` needs one. */
export async function requireManager(exec: Runner): Promise<void> {
  const r = await exec('docker', ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'], { nothrow: true })
  const [state, control] = r.stdout.trim().split(' ')
  if (r.exitCode !== 0) throw new FailureError(`docker info failed: ${r.stderr.trim().split('\n').pop() ?? ''}`, { hint: 'is the Docker engine running?' })
  if (state !== 'active') throw new UsageError(`the engine is not part of a swarm (swarm state: ${state || 'unknown'}), and STACKYARD_ENGINE is swarm`, { hint: 'make one: docker swarm init --advertise-addr <this machine\'s address> (README "Engines: compose or swarm"), or use --engine compose' })
  if (control !== 'true') throw new UsageError('this engine is a swarm worker: stacks are deployed from a manager', { hint: 'run Stackyard against a manager (docker context, or on that machine)' })
}

/** A stack's services as the swarm has them (none: the stack is not deployed). */
export async function stackServices(exec: Runner, project: string): Promise<SwarmService[]> {
  const ids = lines((await exec('docker', ['service', 'ls', '--quiet', '--filter', `label=com.docker.stack.namespace=${project}`])).stdout)
  if (!ids.length) return []
  const inspected = JSON.parse((await exec('docker', ['service', 'inspect', ...ids])).stdout) as Array<{
    ID: string
    Spec: { Name: string; Labels?: Record<string, string>; Mode?: { Replicated?: { Replicas?: number }; Global?: object }; TaskTemplate?: { Placement?: { Constraints?: string[] } } }
    UpdateStatus?: { State?: string; Message?: string }
  }>
  const tasks = lines((await exec('docker', ['service', 'ps', '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.ID}}\t{{.Name}}\t{{.CurrentState}}\t{{.Error}}', ...ids])).stdout).map((l) => {
    const [, name = '', state = '', error = ''] = l.split('\t')
    return { service: name.replace(/\.[^.]+$/, ''), state: state.split(' ')[0].toLowerCase(), error }
  })
  return inspected.map((s) => ({
    id: s.ID,
    service: s.Spec.Name.startsWith(`${project}_`) ? s.Spec.Name.slice(project.length + 1) : s.Spec.Name,
    spec: s.Spec.Labels?.[SPEC_LABEL],
    replicas: s.Spec.Mode?.Replicated?.Replicas ?? 1,
    tasks: tasks.filter((t) => t.service === s.Spec.Name).map(({ state, error }) => ({ state, error })),
    update: s.UpdateStatus?.State ?? '',
    updateMessage: s.UpdateStatus?.Message ?? '',
    constraints: s.Spec.TaskTemplate?.Placement?.Constraints ?? [],
  }))
}

/**
 * Converged: as many running tasks as replicas, none still starting, no update under way; with `spec`, also running
 * that spec (a service whose update rolled back runs its previous spec: not what was asked).
 */
export function serviceReady(s: SwarmService, spec?: string): boolean {
  const running = s.tasks.filter((t) => t.state === 'running').length
  return running >= s.replicas && s.tasks.every((t) => t.state === 'running') && !['updating', 'rollback_started'].includes(s.update) && (spec === undefined || s.spec === spec)
}

/** an update that rolled back or stopped away from `spec`: waiting longer will not help */
export function serviceGaveUp(s: SwarmService, spec: string): boolean {
  return ['rollback_completed', 'paused', 'rollback_paused'].includes(s.update) && s.spec !== spec
}

/**
 * Waits until every wanted service of the stack runs its replicas of the wanted spec (service → spec label; a task
 * with a health check only counts as running once healthy: Swarm holds it in "starting" until then). Polls; fails with each lagging service's last task state,
 * at once when an update rolled back and the previous spec runs again.
 */
export async function waitConverged(exec: Runner, project: string, wanted: Readonly<Record<string, string>>, o: { timeoutS: number; pollMs?: number; sleep?: (ms: number) => Promise<void> }): Promise<SwarmService[]> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const deadline = Date.now() + o.timeoutS * 1000
  for (;;) {
    const services = await stackServices(exec, project)
    const lagging = Object.keys(wanted).map((w) => services.find((s) => s.service === w) ?? { service: w, missing: true as const }).filter((s) => 'missing' in s || !serviceReady(s, wanted[s.service]))
    if (!lagging.length) return services
    const gaveUp = lagging.filter((s): s is SwarmService => !('missing' in s) && serviceGaveUp(s, wanted[s.service]))
    const describe = (s: SwarmService | { service: string; missing: true }) =>
      'missing' in s ? `${s.service}: no such service` : `${s.service}: ${s.tasks.filter((t) => t.state === 'running').length}/${s.replicas} running${s.tasks.find((t) => t.state !== 'running') ? ` (${s.tasks.find((t) => t.state !== 'running')!.state}${s.tasks.find((t) => t.error)?.error ? `: ${s.tasks.find((t) => t.error)!.error}` : ''})` : ''}${s.update ? `, update ${s.update}${s.updateMessage ? `: ${s.updateMessage}` : ''}` : ''}`
    // a rolled-back service is reported once its previous spec runs again (up exits with the platform as it was)
    const settled = gaveUp.length > 0 && gaveUp.every((s) => serviceReady(s))
    if (settled || Date.now() > deadline) {
      // the last error of a lagging service's earlier tasks (a task that exits is replaced: its error is in the history)
      const errors: string[] = []
      for (const s of lagging) {
        const r = await exec('docker', ['service', 'ps', '--no-trunc', '--format', '{{.Error}}', `${project}_${s.service}`], { nothrow: true })
        const last = r.stdout.split('\n').map((l) => l.trim()).find(Boolean)
        if (last) errors.push(`${s.service}: last task error: ${last}`)
      }
      throw new FailureError(`${project}: ${gaveUp.length ? 'an update rolled back' : `not converged after ${o.timeoutS}s`}: ${lagging.map(describe).join('; ')}${errors.length ? `\n${errors.join('\n')}` : ''}`, { hint: `docker service ps --no-trunc ${project}_${lagging[0].service} shows each task's error; docker service logs ${project}_${lagging[0].service}` })
    }
    await sleep(o.pollMs ?? 2000)
  }
}

/** the Docker secrets Stackyard made for a stack (label io.stackyard.stack=<project>) */
export async function stackSecrets(exec: Runner, project: string): Promise<string[]> {
  return lines((await exec('docker', ['secret', 'ls', '--filter', `label=${STACK_LABEL}=${project}`, '--format', '{{.Name}}'])).stdout).sort()
}

/** the Docker configs Stackyard made for a stack (label io.stackyard.stack=<project>) */
export async function stackConfigs(exec: Runner, project: string): Promise<string[]> {
  return lines((await exec('docker', ['config', 'ls', '--filter', `label=${STACK_LABEL}=${project}`, '--format', '{{.Name}}'])).stdout).sort()
}

/**
 * Scales services of a stack to `replicas` (`docker service scale --detach`, one call), through the context's change
 * runner (dry-run aware). Returns each service's replicas before, so that they can be put back.
 */
export async function scaleServices(ctx: { change: Runner; exec: Runner }, project: string, services: readonly SwarmService[], replicas: number): Promise<Record<string, number>> {
  const before = Object.fromEntries(services.map((s) => [s.service, s.replicas]))
  if (!services.length) return before
  const r = await ctx.change('docker', ['service', 'scale', '--detach', ...services.map((s) => `${project}_${s.service}=${replicas}`)], { nothrow: true })
  if (r.exitCode !== 0) throw new FailureError(`docker service scale failed for ${project}: ${r.stderr.trim().split('\n').pop() ?? ''}`, { hint: `docker service ls --filter label=com.docker.stack.namespace=${project}` })
  return before
}

/** Waits until no container of these services is left on this engine (after a scale to 0). */
export async function waitStopped(exec: Runner, project: string, services: readonly string[], o: { timeoutS: number }): Promise<void> {
  const deadline = Date.now() + o.timeoutS * 1000
  for (;;) {
    const left: string[] = []
    for (const s of services) if (lines((await exec('docker', ['ps', '--quiet', '--filter', `label=com.docker.swarm.service.name=${project}_${s}`])).stdout).length) left.push(s)
    if (!left.length) return
    if (Date.now() > deadline) throw new FailureError(`${project}: ${left.join(', ')} still running ${o.timeoutS}s after being scaled to 0`, { hint: `docker service ps ${project}_${left[0]}` })
    await new Promise((r) => setTimeout(r, 1000))
  }
}
