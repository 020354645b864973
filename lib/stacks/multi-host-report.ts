// Tables for the multi-host status and health reports: one row per host and service (or check); an unreachable
// host is one FAIL row with its error. Pure formatting.
import { table } from '../core/format.ts'
import { color } from '../core/log.ts'
import type { HostOutcome } from './multi-host.ts'
import { stateCell, type ServiceStatus } from './status.ts'
import type { HealthResult } from './health.ts'

const mark = (ok: boolean) => (ok ? color.green('ok') : color.red('FAIL'))

export function renderHostStatus(hosts: ReadonlyArray<HostOutcome<ServiceStatus[]>>): string {
  const rows = [['context', 'stack', 'service', 'state', 'health', 'uptime', 'image', '']]
  for (const h of hosts) {
    if (!h.ok) rows.push([h.context, '—', '—', 'unreachable', h.error, '', '', mark(false)])
    else for (const r of h.value) rows.push([h.context, r.stack, r.service, stateCell(r), r.health || '—', r.uptime || '—', r.image, r.enabled ? mark(r.ok) : color.dim('off')])
  }
  return table(rows)
}

export function renderHostHealth(hosts: ReadonlyArray<HostOutcome<HealthResult[]>>): string {
  const rows = [['', 'context', 'check', 'service', 'detail']]
  for (const h of hosts) {
    if (!h.ok) rows.push([mark(false), h.context, 'docker reachable', '—', h.error])
    else for (const r of h.value) rows.push([mark(r.ok), h.context, r.check, r.target, r.detail])
  }
  return table(rows)
}
