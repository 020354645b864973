// Which container is a swarm service (read-only; the one place that answers it): a stack's tasks desired running
// (`docker stack ps`, `docker inspect`), one service's running task on this node, and containers' health. `docker exec`
// and `docker inspect` reach only this engine's containers, so a task on another node is said, not reached.
import { FailureError } from '../core/errors.ts'
import type { Runner } from '../core/exec.ts'

export interface RunningTask {
  id: string
  /** the service's key in the stack file (the task name without "<project>_" and ".<slot>") */
  service: string
  /** the task's current state (running, starting, preparing…) */
  state: string
  node: string
  /** the container id ('' before the task has one) */
  container: string
}

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean)

/** The tasks of a stack desired running, with their containers (none: the stack is not deployed). */
export async function runningTasks(exec: Runner, project: string): Promise<RunningTask[]> {
  const ps = await exec('docker', ['stack', 'ps', project, '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.ID}}\t{{.Name}}'], { nothrow: true })
  if (ps.exitCode !== 0) return []
  const names = new Map(lines(ps.stdout).map((l) => l.split('\t') as [string, string]))
  if (!names.size) return []
  const r = await exec('docker', ['inspect', '--type', 'task', ...names.keys()], { nothrow: true })
  // a task gone between the two calls: inspect prints the others and exits 1
  const inspected = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as Array<{ ID: string; NodeID?: string; Status?: { State?: string; ContainerStatus?: { ContainerID?: string } } }>
  return inspected.map((t) => ({
    id: t.ID,
    service: (names.get(t.ID) ?? '').replace(`${project}_`, '').replace(/\.[^.]+$/, ''),
    state: t.Status?.State ?? '',
    node: t.NodeID ?? '',
    container: t.Status?.ContainerStatus?.ContainerID ?? '',
  }))
}

/** A running task of a swarm service and its container: where a command "in the service" runs. */
export interface ServiceTask {
  task: string
  container: string
  node: string
  /** the image reference of the task (with its digest when Swarm pinned one) */
  image: string
}

/**
 * The running task's container of `<project>_<service>` (undefined: the service does not exist or no task of it
 * runs). A task's container lives on the node that runs the task, and `docker exec` reaches it only through that
 * node's engine: on a single node that is this engine; on several, a task placed on another node is a FailureError
 * naming it (point DOCKER_HOST or --context at that node's engine, or pin the service to this node). The one place
 * that answers "which container is this service": backup, restore, update and rotation ask here.
 */
export async function runningTask(exec: Runner, project: string, service: string): Promise<ServiceTask | undefined> {
  const name = `${project}_${service}`
  const r = await exec('docker', ['service', 'ps', '--filter', 'desired-state=running', '--no-trunc', '--quiet', name], { nothrow: true })
  if (r.exitCode !== 0) return undefined
  const ids = lines(r.stdout)
  if (!ids.length) return undefined
  const tasks = JSON.parse((await exec('docker', ['inspect', ...ids])).stdout) as Array<{
    ID: string
    NodeID?: string
    Status?: { State?: string; ContainerStatus?: { ContainerID?: string } }
    Spec?: { ContainerSpec?: { Image?: string } }
  }>
  const running = tasks.filter((t) => t.Status?.State === 'running' && t.Status.ContainerStatus?.ContainerID)
  if (!running.length) return undefined
  const here = await localNode(exec)
  if (!here) throw new FailureError(`${name}: cannot tell which swarm node this engine is (docker info has no Swarm.NodeID)`, { hint: 'docker info --format {{.Swarm.NodeID}} must answer: is this engine part of the swarm?' })
  const local = running.find((t) => t.NodeID === here)
  if (!local) {
    const node = running[0].NodeID ?? ''
    const hostname = (await exec('docker', ['node', 'inspect', '--format', '{{.Description.Hostname}}', node], { nothrow: true })).stdout.trim()
    throw new FailureError(`${name} runs on node ${hostname || node}, not on the node this engine is: its container is reached through that node's engine`, {
      hint: `run this against that node (DOCKER_HOST=ssh://… or --context pointing at it), or pin the service to this node (placement)`,
    })
  }
  return { task: local.ID, container: local.Status!.ContainerStatus!.ContainerID!, node: local.NodeID ?? '', image: local.Spec?.ContainerSpec?.Image ?? '' }
}

/** `docker` argv running `cmd` in a running task's container, stdin passed through (as `compose exec -T`). */
export function taskExec(t: Pick<ServiceTask, 'container'>, cmd: readonly string[]): string[] {
  return ['exec', '-i', t.container, ...cmd]
}

/** this engine's node id in the swarm */
export async function localNode(exec: Runner): Promise<string> {
  return (await exec('docker', ['info', '--format', '{{.Swarm.NodeID}}'], { nothrow: true })).stdout.trim()
}

/** Docker's health of containers on this engine: id → healthy, unhealthy, starting, or '' without a health check. */
export async function containerHealth(exec: Runner, ids: readonly string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map()
  const r = await exec('docker', ['inspect', '--type', 'container', '--format', '{{.Id}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', ...ids], { nothrow: true })
  return new Map(lines(r.stdout).map((l) => [l.split(' ')[0], l.split(' ')[1] ?? '']))
}
