// A stack's running tasks under swarm and their containers (argv only, read-only): `docker stack ps` for the tasks
// desired running, `docker inspect` for each task's container and node, and the container's health where it runs on
// this engine (`docker exec` and `docker inspect` reach only this node's containers).
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
