// Status under the swarm engine: per declared service, its swarm service's running/desired replicas (a task with a
// health check runs only once healthy), update state, and the Docker health of its running containers on this engine,
// in the rows `status` prints for compose. Read-only.
import type { Stack } from '../model/registry.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import type { ServiceStatus } from '../stacks/status.ts'
import { reachable } from '../stacks/up.ts'
import { selectedStacks } from '../model/routes.ts'
import { serviceReady, stackServices, type SwarmService } from './state.ts'
import { containerHealth, localNode, runningTasks } from './tasks.ts'
import { readNodes, nodeName, type SwarmNode } from './nodes.ts'
import { constraintHost, HOST_LABEL, MANAGER_CONSTRAINT } from './placement.ts'

/**
 * Why a placed service has no running task, from its constraints and the nodes: the node its host label names is down
 * or drained, or no node carries the label; '' when placement is not the reason (or the nodes are not read).
 */
export function placementWait(s: Pick<SwarmService, 'constraints'>, nodes: readonly SwarmNode[]): string {
  for (const c of s.constraints) {
    const host = constraintHost(c)
    const candidates = host !== undefined ? nodes.filter((n) => n.labels[HOST_LABEL] === host) : c === MANAGER_CONSTRAINT ? nodes.filter((n) => n.role === 'manager') : undefined
    if (!candidates) continue
    const where = host !== undefined ? `host ${host}` : 'the manager'
    if (!candidates.length) return `placed on ${where}: no node carries ${HOST_LABEL}=${host}`
    if (!candidates.some((n) => n.state === 'ready' && n.availability === 'active'))
      return `placed on ${where}: ${candidates.map((n) => `node ${nodeName(n)} is ${n.state === 'ready' ? n.availability : n.state}`).join(', ')}`
  }
  return ''
}

export async function swarmStatus(ctx: Pick<StackCtx, 'exec'>, p: Platform, stacks: readonly Stack[]): Promise<ServiceStatus[]> {
  const urls = new Map(reachable(p, stacks).map((r) => [`${r.stack}/${r.service}`, r.url]))
  const perStack = await Promise.all(stacks.map((s) => stackServices(ctx.exec, s.project)))
  const node = await localNode(ctx.exec)
  const tasks = await Promise.all(stacks.map((s, i) => (perStack[i].length ? runningTasks(ctx.exec, s.project) : [])))
  const health = await containerHealth(ctx.exec, tasks.flat().filter((t) => t.node === node && t.container).map((t) => t.container))
  const selected = selectedStacks(p.registry, p.settings)
  // the nodes, only when a placed service lags: its wait is explained by them
  const placedLagging = perStack.flat().some((s) => s.constraints.length && !serviceReady(s))
  const nodes = placedLagging ? await readNodes(ctx.exec) : []
  return stacks.flatMap((stack, i) => {
    const enabled = new Set(p.plan(stack).enabled.map((s) => s.name))
    return stack.services.map((svc) => {
      const s = perStack[i].find((x) => x.service === svc.name)
      const on = enabled.has(svc.name)
      const running = s ? s.tasks.filter((t) => t.state === 'running').length : 0
      const ready = s ? serviceReady(s) : false
      const state = s ? `${ready ? 'running' : (s.tasks.find((t) => t.state !== 'running')?.state ?? 'pending')} ${running}/${s.replicas}` : on ? 'not deployed' : 'off'
      // the worst health of its running containers here (a task on another node: what Swarm says)
      const healths = tasks[i].filter((t) => t.service === svc.name && t.state === 'running' && health.has(t.container)).map((t) => health.get(t.container)!)
      const docker = ['unhealthy', 'starting', 'healthy'].find((h) => healths.includes(h)) ?? ''
      return {
        stack: stack.name,
        service: svc.name,
        enabled: on,
        state,
        // a rolled-back update runs the previous spec, healthy: ok, and said (up fails on it; the next up tries again)
        health: s ? (s.update && s.update !== 'completed' ? `update ${s.update}` : !ready ? placementWait(s, nodes) || (s.tasks.find((t) => t.error)?.error ?? docker) : docker) : '',
        image: svc.image ?? '',
        uptime: '',
        url: on ? urls.get(`${stack.name}/${svc.name}`) : undefined,
        ...(on ? {} : { off: selected.has(stack.name) ? ('profile off' as const) : ('not selected' as const) }),
        ok: !on || (ready && (docker === '' || docker === 'healthy')),
      }
    })
  })
}
