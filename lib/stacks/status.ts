// Status of the declared services: state, health, image, uptime and route per stack and service, from
// `docker compose ps` (read-only). A service is "enabled" when the active profiles switch it on; only enabled
// services count toward the verdict.
import { FailureError } from '../core/errors.ts'
import type { Stack } from '../model/registry.ts'
import { psCommand } from '../docker/compose.ts'
import { isServing, parsePs, uptime, type PsRow } from '../docker/state.ts'
import { table } from '../core/format.ts'
import { color } from '../core/log.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { reachable } from './up.ts'
import { selectedStacks } from '../model/routes.ts'

export interface ServiceStatus {
  stack: string
  service: string
  enabled: boolean
  state: string
  health: string
  image: string
  uptime: string
  url?: string
  /** why a service is not enabled: its stack is not among the selected stacks, or no active profile switches it on */
  off?: 'not selected' | 'profile off'
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
  const selected = selectedStacks(p.registry, p.settings)
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
        ...(on ? {} : { off: selected.has(stack.name) ? ('profile off' as const) : ('not selected' as const) }),
        ok: !on || isServing({ State: state, Health: health }),
      }
    })
  })
}

/** the state column: `off (not selected)` or `off (profile off)` for a service that is not enabled */
export const stateCell = (r: Pick<ServiceStatus, 'enabled' | 'state' | 'off'>) => (r.enabled ? r.state : `${r.state} (${r.off ?? 'profile off'})`)

export function renderStatus(rows: readonly ServiceStatus[]): string {
  const mark = (r: ServiceStatus) => (!r.enabled ? color.dim('off') : r.ok ? color.green('ok') : color.red('FAIL'))
  return table([
    ['stack', 'service', 'state', 'health', 'uptime', 'image', 'route', ''],
    ...rows.map((r) => [r.stack, r.service, stateCell(r), r.health || '—', r.uptime || '—', r.image, r.url ?? '', mark(r)]),
  ])
}
