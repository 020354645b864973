// Renders doctor results as one screen of text: a line per check, findings with their fix beneath.
import type { CheckResult } from '../model/check-result.ts'
import { color } from '../core/log.ts'
import { plural, table } from '../core/format.ts'

const ICON = { ok: () => color.green('✔'), warn: () => color.yellow('▲'), fail: () => color.red('✖'), skip: () => color.dim('–') }

export function renderDoctor(results: CheckResult[], root: string): string {
  const lines: string[] = [`Stackyard doctor: ${root}`, '']
  const rows = results.map((r) => [ICON[r.status](), r.title, r.status === 'ok' || r.status === 'skip' ? color.dim(r.summary) : r.summary])
  lines.push(table(rows, { indent: '  ' }))
  for (const r of results.filter((x) => x.findings.length)) {
    lines.push('', `${ICON[r.status]()} ${r.title}`)
    for (const f of r.findings) {
      lines.push(`    ${f.status === 'fail' ? color.red('✖') : color.yellow('▲')} ${f.message}${f.where && !f.message.includes(f.where) ? color.dim(`  (${f.where})`) : ''}`)
      if (f.fix) lines.push(`      ${color.dim('fix:')} ${f.fix}`)
    }
  }
  const fails = results.reduce((n, r) => n + r.findings.filter((f) => f.status === 'fail').length, 0)
  const warns = results.reduce((n, r) => n + r.findings.filter((f) => f.status === 'warn').length, 0)
  lines.push('', fails ? color.red(`not sound: ${plural(fails, 'problem')}${warns ? `, ${plural(warns, 'warning')}` : ''}`) : color.green(`sound${warns ? ` (${plural(warns, 'warning')})` : ''}`))
  return lines.join('\n')
}
