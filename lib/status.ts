// Status of the declared services: state, health, image, uptime and route per stack and service, from
// `docker compose ps` (read-only). A service is "enabled" when the active profiles switch it on; only enabled
// services count toward the verdict.
import { FailureError } from './errors.ts'
import type { Stack } from './registry.ts'
import { psCommand } from './compose.ts'
import { parsePs, uptime, type PsRow } from './docker-state.ts'
import { table } from './format.ts'
import { color } from './log.ts'
import type { Platform, StackCtx } from './platform.ts'
import { reachable } from './up.ts'

export interface ServiceStatus {
  stack: string
  service: string
  enabled: boolean
  state: string
  health: string
  image: string
  uptime: string
  url?: string
  /** enabled and running and (no health check or healthy); disabled services are always ok */
  ok: boolean
}

export async function stackRows(ctx: Pick<StackCtx, 'exec'>, p: Platform, stack: Stack): Promise<PsRow[]> {
  const r = await p.run(ctx.exec, stack, psCommand())
  if (r.exitCode !== 0) throw new FailureError(`docker compose ps failed for ${stack.name}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { hint: 'npx zx tasks/doctor.ts checks the configuration Compose reads' })
  return parsePs(r.stdout)
}

export async function collectStatus(ctx: Pick<StackCtx, 'exec'>, p: Platform, stacks: readonly Stack[]): Promise<ServiceStatus[]> {
  const urls = new Map(reachable(p, stacks).map((r) => [`${r.stack}/${r.service}`, r.url]))
  const perStack = await Promise.all(stacks.map((s) => stackRows(ctx, p, s)))
  return stacks.flatMap((stack, i) => {
    const rows = perStack[i]
    const enabled = new Set(p.plan(stack).enabled.map((s) => s.name))
    return stack.services.map((svc) => {
      const row = rows.find((r) => r.Service === svc.name)
      const on = enabled.has(svc.name)
      const state = row?.State || (on ? 'not created' : 'off')
      const health = row?.Health ?? ''
      return {
        stack: stack.name,
        service: svc.name,
        enabled: on,
        state,
        health,
        image: row?.Image || svc.image || '',
        uptime: row ? uptime(row.Status) : '',
        url: on ? urls.get(`${stack.name}/${svc.name}`) : undefined,
        ok: !on || (state === 'running' && (health === '' || health === 'healthy')),
      }
    })
  })
}

export function renderStatus(rows: readonly ServiceStatus[]): string {
  const mark = (r: ServiceStatus) => (!r.enabled ? color.dim('off') : r.ok ? color.green('ok') : color.red('FAIL'))
  return table([
    ['stack', 'service', 'state', 'health', 'uptime', 'image', 'route', ''],
    ...rows.map((r) => [r.stack, r.service, r.enabled ? r.state : `${r.state} (profile off)`, r.health || '—', r.uptime || '—', r.image, r.url ?? '', mark(r)]),
  ])
}
