// The swarm's nodes and their host labels: read them (docker node ls/inspect, read-only), plan the labels the settings
// call for (each assigned host's label on exactly one node: the one STACKYARD_HOST_<NAME>_NODE names, else the node
// whose hostname is NAME, `default` being the engine Stackyard talks to), and check that the constraints of what
// `up` deploys can be met. Reading is I/O; planning and checking are pure.
import { ConfigError, FailureError } from '../core/errors.ts'
import type { Runner } from '../core/exec.ts'
import { DEFAULT_CONTEXT } from '../core/docker-context.ts'
import type { Service, Stack } from '../model/registry.ts'
import { constraintHost, constraintsFor, HOST_LABEL, hostNodeVariable, isStateful, MANAGER_CONSTRAINT, type HostAssignment } from './placement.ts'

export interface SwarmNode {
  id: string
  hostname: string
  role: 'manager' | 'worker'
  /** active, pause, drain */
  availability: string
  /** ready, down, unknown… */
  state: string
  labels: Record<string, string>
  /** the engine Stackyard talks to */
  self: boolean
}

/** The swarm's nodes (a manager is needed: workers cannot list them). */
export async function readNodes(exec: Runner): Promise<SwarmNode[]> {
  const self = (await exec('docker', ['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim()
  const ids = (await exec('docker', ['node', 'ls', '--quiet'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean)
  if (!ids.length) return []
  const r = await exec('docker', ['node', 'inspect', ...ids], { nothrow: true })
  if (r.exitCode !== 0) throw new FailureError(`docker node inspect failed: ${r.stderr.trim().split('\n').pop() ?? ''}`)
  const raw = JSON.parse(r.stdout) as Array<{ ID: string; Spec?: { Labels?: Record<string, string>; Role?: string; Availability?: string }; Description?: { Hostname?: string }; Status?: { State?: string } }>
  return raw.map((n) => ({
    id: n.ID,
    hostname: n.Description?.Hostname ?? '',
    role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
    availability: n.Spec?.Availability ?? '',
    state: n.Status?.State ?? '',
    labels: n.Spec?.Labels ?? {},
    self: n.ID === self,
  }))
}

export const nodeName = (n: SwarmNode) => n.hostname || n.id.slice(0, 12)

/** The node a host is: STACKYARD_HOST_<NAME>_NODE (hostname or ID, a unique ID prefix too), else hostname NAME, else for `default` this engine. */
export function nodeOfHost(nodes: readonly SwarmNode[], host: string, setting: string | undefined): { node?: SwarmNode; why: string } {
  if (setting) {
    const byId = nodes.filter((n) => n.id === setting || (setting.length >= 6 && n.id.startsWith(setting)))
    const byName = nodes.filter((n) => n.hostname === setting)
    const found = byId.length ? byId : byName
    if (found.length > 1) throw new ConfigError(`${hostNodeVariable(host)}="${setting}" matches ${found.length} nodes (${found.map(nodeName).join(', ')})`, { field: hostNodeVariable(host), hint: 'name the node by its ID (docker node ls)' })
    return found.length ? { node: found[0], why: hostNodeVariable(host) } : { why: `${hostNodeVariable(host)}="${setting}" names no node of this swarm` }
  }
  const named = nodes.filter((n) => n.hostname === host)
  if (named.length === 1) return { node: named[0], why: `hostname ${host}` }
  if (named.length > 1) return { why: `${named.length} nodes have the hostname ${host}: set ${hostNodeVariable(host)}=<node ID>` }
  if (host === DEFAULT_CONTEXT) {
    const self = nodes.find((n) => n.self)
    if (self) return { node: self, why: 'the engine Stackyard talks to' }
  }
  return { why: `no node has the hostname ${host}: set ${hostNodeVariable(host)}=<node hostname or ID>` }
}

export interface LabelChange {
  node: SwarmNode
  /** --label-add io.stackyard.host=HOST, or --label-rm io.stackyard.host */
  add?: string
  remove?: boolean
  because: string
}

export interface LabelPlan {
  /** host → its node and why, or why none */
  hosts: Array<{ host: string; node?: SwarmNode; why: string }>
  changes: LabelChange[]
  /** hosts whose node is not found: --apply refuses */
  problems: string[]
}

/** What makes the nodes carry the labels the settings call for: converges (no change when they do). */
export function planLabels(nodes: readonly SwarmNode[], a: HostAssignment): LabelPlan {
  const hosts = [...new Set(a.stacks.values())].sort()
  const plan: LabelPlan = { hosts: [], changes: [], problems: [] }
  /** node id → the host it is to be */
  const wanted = new Map<string, { host: string; why: string }>()
  for (const host of hosts) {
    const { node, why } = nodeOfHost(nodes, host, a.nodes.get(host))
    plan.hosts.push({ host, node, why })
    if (!node) plan.problems.push(`${host}: ${why}`)
    else if (wanted.has(node.id)) plan.problems.push(`${host}: its node ${nodeName(node)} is already host ${wanted.get(node.id)!.host}; one node is one host`)
    else wanted.set(node.id, { host, why })
  }
  const placed = new Map([...wanted].map(([id, w]) => [w.host, id]))
  for (const n of nodes) {
    const w = wanted.get(n.id)
    const has = n.labels[HOST_LABEL]
    if (w && has !== w.host) plan.changes.push({ node: n, add: w.host, because: `host ${w.host} (${w.why})` })
    // an assigned host's label on another node: a stateful service of that host must have one node
    else if (!w && has !== undefined && placed.has(has)) plan.changes.push({ node: n, remove: true, because: `host ${has} is ${nodeName(nodes.find((x) => x.id === placed.get(has))!)}` })
  }
  return plan
}

/** `docker node update` argv of a change */
export const labelArgs = (c: LabelChange) => ['node', 'update', ...(c.add ? ['--label-add', `${HOST_LABEL}=${c.add}`] : ['--label-rm', HOST_LABEL]), c.node.id]

/**
 * Why constraints cannot be met on these nodes (empty: they can): a host label no node carries (the service would stay
 * pending forever); a stateful service whose host label is on several nodes, or pinned to the manager of a swarm with
 * several managers (a restart could start it on an empty volume).
 */
export function unmetConstraints(nodes: readonly SwarmNode[], uses: ReadonlyArray<{ service: string; constraints: readonly string[]; stateful: boolean }>): string[] {
  const out: string[] = []
  const managers = nodes.filter((n) => n.role === 'manager')
  for (const u of uses)
    for (const c of u.constraints) {
      const host = constraintHost(c)
      if (host !== undefined) {
        const carrying = nodes.filter((n) => n.labels[HOST_LABEL] === host)
        if (!carrying.length) out.push(`${u.service}: no node carries the label ${HOST_LABEL}=${host} (it would stay pending)`)
        else if (u.stateful && carrying.length > 1) out.push(`${u.service}: keeps its volume on one node, and ${carrying.length} nodes carry ${HOST_LABEL}=${host} (${carrying.map(nodeName).join(', ')})`)
      } else if (c === MANAGER_CONSTRAINT && u.stateful && managers.length > 1)
        out.push(`${u.service}: is pinned to the manager (its stack is assigned to no host), and this swarm has ${managers.length} managers`)
    }
  return out
}

/**
 * `up`'s refusal (exit 2, before any change) when the placement of these stacks' services cannot be met by the
 * swarm's nodes; the fix is the nodes task (labels) or the host settings.
 */
export async function requirePlacement(ctx: { exec: Runner }, a: HostAssignment, stacks: ReadonlyArray<{ stack: Stack; services: readonly Service[] }>): Promise<void> {
  const uses = stacks.flatMap(({ stack, services }) =>
    services.map((svc) => {
      const stateful = isStateful(svc)
      return { service: `${stack.name}/${svc.name}`, constraints: constraintsFor(a.stacks.get(stack.name), stateful), stateful }
    }),
  )
  if (!uses.some((u) => u.constraints.length)) return
  const unmet = unmetConstraints(await readNodes(ctx.exec), uses)
  if (unmet.length)
    throw new ConfigError(`the swarm's nodes cannot take these services as placed:\n  ${unmet.join('\n  ')}`, { hint: 'npx zx tasks/nodes.ts shows the nodes and the labels the settings call for; --apply labels them (STACKYARD_HOST_<NAME>_STACKS and _NODE name the hosts)' })
}
