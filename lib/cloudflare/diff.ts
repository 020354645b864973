// The plan as a readable diff (`+ add`, `~ change`, `- remove`, `= unchanged`, `! problem`): the change
// type every Cloudflare reconciler returns, and its rendering. Pure: no I/O.
import { color } from '../core/log.ts'
import { plural } from '../core/format.ts'

export type Op = '+' | '~' | '-' | '='
export type Area = 'access' | 'ingress' | 'dns' | 'zone'

export interface Change {
  area: Area
  op: Op
  /** what it is about: a hostname, a policy name */
  key: string
  /** one line: what changes (never a secret) */
  detail: string
}

/** Something the reconciler will not do by itself (a record it does not own, a missing prerequisite). */
export interface Problem {
  area: Area
  key: string
  message: string
  hint?: string
}

const TITLES: Record<Area, string> = { access: 'Access', ingress: 'Tunnel ingress', dns: 'DNS', zone: 'Zone settings' }

export function counts(changes: readonly Change[]): Record<Op, number> {
  const c: Record<Op, number> = { '+': 0, '~': 0, '-': 0, '=': 0 }
  for (const ch of changes) c[ch.op]++
  return c
}

/** Renders the plan grouped by area; `headers` adds context per area (tunnel name, zone…). */
export function renderPlan(changes: readonly Change[], problems: readonly Problem[], headers: Partial<Record<Area, string>> = {}): string {
  const lines: string[] = []
  const areas = (Object.keys(TITLES) as Area[]).filter((a) => changes.some((c) => c.area === a) || problems.some((p) => p.area === a) || headers[a])
  for (const area of areas) {
    lines.push(color.bold(`${TITLES[area]}${headers[area] ? ` (${headers[area]})` : ''}`))
    const mine = changes.filter((c) => c.area === area)
    for (const c of mine) lines.push(`  ${paint(c.op)} ${c.key}${c.detail ? `: ${c.detail}` : ''}`)
    for (const p of problems.filter((x) => x.area === area)) lines.push(`  ${color.red('!')} ${p.key}: ${p.message}${p.hint ? color.dim(` — ${p.hint}`) : ''}`)
    if (!mine.length && !problems.some((p) => p.area === area)) lines.push(color.dim('  (nothing declared)'))
  }
  const n = counts(changes)
  lines.push(
    `${plural(n['+'], 'to add', 'to add')}, ${plural(n['~'], 'to change', 'to change')}, ${plural(n['-'], 'to remove', 'to remove')}, ${n['=']} unchanged` +
      (problems.length ? `, ${plural(problems.length, 'problem')}` : ''),
  )
  return lines.join('\n')
}

function paint(op: Op): string {
  if (op === '+') return color.green('+')
  if (op === '-') return color.red('-')
  if (op === '~') return color.yellow('~')
  return color.dim('=')
}
