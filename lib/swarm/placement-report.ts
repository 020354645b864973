// What the placement is, in words: doctor's `placement` check under swarm (each stateful service and the node that
// holds its volume; with the nodes read, whether their labels meet the constraints) and the nodes task's tables. Pure.
import { result, type CheckResult, type Finding } from '../model/check-result.ts'
import type { Registry } from '../model/registry.ts'
import { table } from '../core/format.ts'
import { HOST_LABEL, pinnedServices, type HostAssignment, type PinnedService } from './placement.ts'
import { nodeName, unmetConstraints, type LabelPlan, type SwarmNode } from './nodes.ts'

/** where a pinned service's volume is: the host's node (named when the nodes are known), or the manager */
export function pinnedWhere(p: PinnedService, nodes?: readonly SwarmNode[]): string {
  if (!p.host) {
    const managers = nodes?.filter((n) => n.role === 'manager') ?? []
    return `the manager${managers.length === 1 ? ` (${nodeName(managers[0])})` : ''} (stack assigned to no host)`
  }
  const carrying = nodes?.filter((n) => n.labels[HOST_LABEL] === p.host) ?? []
  return `host ${p.host}'s node${carrying.length === 1 ? ` (${nodeName(carrying[0])})` : ''} (${HOST_LABEL}=${p.host})`
}

/**
 * doctor's placement check: every stateful service of these stacks with where it is pinned; with the nodes, a failure
 * for each constraint no node meets (up would refuse).
 */
export function placementCheck(stacks: Registry['stacks'], a: HostAssignment, nodes?: readonly SwarmNode[]): CheckResult {
  const pinned = pinnedServices(stacks, a)
  const findings: Finding[] = []
  if (nodes)
    for (const why of unmetConstraints(nodes, pinned.map((p) => ({ service: `${p.stack}/${p.service}`, constraints: [p.constraint], stateful: true }))))
      findings.push({ status: 'fail', message: why, fix: 'npx zx tasks/nodes.ts --apply labels the nodes the settings name' })
  const where = new Map<string, string[]>()
  for (const p of pinned) where.set(pinnedWhere(p, nodes), [...(where.get(pinnedWhere(p, nodes)) ?? []), `${p.stack}/${p.service}`])
  const summary = pinned.length ? [...where].map(([w, services]) => `on ${w}: ${services.join(', ')}`).join('; ') : 'no stateful service in the selected stacks'
  const r = result('placement', 'swarm placement', findings, summary)
  return findings.length ? { ...r, summary: `${r.summary}; ${summary}` } : r
}

/** The nodes task's report: nodes with their host label, the hosts the settings name, the changes that would converge. */
export function renderNodes(nodes: readonly SwarmNode[], a: HostAssignment, plan: LabelPlan, pinned: readonly PinnedService[]): string {
  const out: string[] = []
  out.push(table([['NODE', 'ID', 'ROLE', 'STATE', 'AVAILABILITY', HOST_LABEL], ...nodes.map((n) => [`${nodeName(n)}${n.self ? ' *' : ''}`, n.id.slice(0, 12), n.role, n.state, n.availability, n.labels[HOST_LABEL] ?? ''])]))
  const hosts = plan.hosts.map((h) => {
    const stacks = [...a.stacks].filter(([, host]) => host === h.host).map(([s]) => s)
    return [h.host, stacks.join(', '), h.node ? `${nodeName(h.node)} (${h.why})` : `none: ${h.why}`]
  })
  out.push('')
  out.push(hosts.length ? table([['HOST', 'STACKS', 'NODE'], ...hosts]) : 'no stack is assigned to a host (STACKYARD_HOST_<NAME>_STACKS): the swarm places stateless services anywhere')
  if (pinned.length) {
    out.push('')
    out.push('stateful services (a named volume) stay on one node:')
    for (const p of pinned) out.push(`  ${p.stack}/${p.service}: ${pinnedWhere(p, nodes)}`)
  }
  out.push('')
  if (plan.problems.length) out.push(`cannot label:\n${plan.problems.map((p) => `  ${p}`).join('\n')}`)
  if (plan.changes.length) out.push(`label changes:\n${plan.changes.map((c) => `  ${nodeName(c.node)}: ${c.add ? `add ${HOST_LABEL}=${c.add}` : `remove ${HOST_LABEL}`} (${c.because})`).join('\n')}`)
  else if (!plan.problems.length) out.push('the nodes carry the labels the settings call for: nothing to change')
  return out.join('\n')
}
