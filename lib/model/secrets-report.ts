// Renders a secrets plan: one line per declared secret with its action; never a value.
import type { SecretPlanItem } from './secrets.ts'
import { color } from '../core/log.ts'
import { table } from '../core/format.ts'

const MARK: Record<SecretPlanItem['action'], string> = {
  create: '+ create',
  rotate: '~ rotate',
  rederive: '~ re-sign',
  keep: '= keep',
  invalid: '! keep (invalid)',
  ask: '? supply',
  optional: '- optional',
}

export function renderSecretPlan(items: SecretPlanItem[], listOnly: boolean): string {
  const rows = items.map((i) => {
    const mark = listOnly && (i.action === 'create' || i.action === 'rotate') ? (i.action === 'create' ? '  missing' : MARK[i.action]) : MARK[i.action]
    const colored = i.action === 'keep' || i.action === 'optional' ? color.dim(mark) : i.action === 'invalid' || i.action === 'ask' ? color.yellow(mark) : color.green(mark)
    return [colored, i.key, color.dim(`${i.format} · ${i.stack}`), i.reason ? color.dim(i.reason) : '']
  })
  return table([['ACTION', 'KEY', 'FORMAT', 'NOTE'], ...rows])
}
