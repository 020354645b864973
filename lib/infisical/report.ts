// Renders Infisical sync plans and status as text tables: key names, actions and notes only, never a value (not even
// masked lengths or fingerprints: a short hash of a low-entropy value is guessable offline). Pure.
import { color } from '../core/log.ts'
import { printable, table } from '../core/format.ts'
import type { PullItem, PushItem, StatusItem } from './plan.ts'

const PUSH: Record<PushItem['action'], (s: string) => string> = {
  create: (s) => color.green(s),
  update: (s) => color.yellow(s),
  delete: (s) => color.red(s),
  unchanged: (s) => color.dim(s),
  'remote-only': (s) => color.dim(s),
  'remote-newer': (s) => color.yellow(s),
  conflict: (s) => color.red(s),
}
const PUSH_LABEL: Record<PushItem['action'], string> = {
  create: '+ create',
  update: '~ update',
  delete: '- delete',
  unchanged: '= unchanged',
  'remote-only': '  only in Infisical',
  'remote-newer': '! kept: changed in Infisical',
  conflict: '! kept: changed on both sides',
}

export function renderPushPlan(items: readonly PushItem[], opts: { showUnchanged?: boolean } = {}): string {
  const rows = items
    .filter((i) => opts.showUnchanged || i.action !== 'unchanged')
    .map((i) => {
      const notes = [i.trimmed && 'surrounding whitespace (the server trims it)', i.reference && 'contains ${…} (a reference to Infisical)', i.empty && 'empty value'].filter(Boolean).join('; ')
      return [PUSH[i.action](PUSH_LABEL[i.action]), printable(i.key), color.dim(notes)]
    })
  if (rows.length === 0) return ''
  return table([['ACTION', 'KEY', 'NOTE'], ...rows])
}

const PULL_LABEL: Record<PullItem['action'], string> = {
  add: '+ add',
  update: '~ update',
  unchanged: '= unchanged',
  'local-only': '  only in .env (kept)',
  'local-newer': '! kept: changed in .env',
  conflict: '! kept: changed on both sides',
  removed: '- removed (gone from Infisical)',
}

export function renderPullPlan(items: readonly PullItem[], opts: { showUnchanged?: boolean } = {}): string {
  const rows = items.filter((i) => opts.showUnchanged || i.action !== 'unchanged').map((i) => [i.action === 'add' ? color.green(PULL_LABEL[i.action]) : i.action === 'update' ? color.yellow(PULL_LABEL[i.action]) : i.action === 'conflict' || i.action === 'local-newer' ? color.red(PULL_LABEL[i.action]) : color.dim(PULL_LABEL[i.action]), printable(i.key)])
  if (rows.length === 0) return ''
  return table([['ACTION', 'KEY'], ...rows])
}

const STATE_LABEL: Record<StatusItem['state'], string> = {
  same: 'same',
  different: 'different',
  'only-local': 'only in .env',
  'only-remote': 'only in Infisical',
}

export function renderStatus(items: readonly StatusItem[], opts: { all?: boolean } = {}): string {
  const rows = items
    .filter((i) => opts.all || i.state !== 'same')
    .map((i) => {
      const state = i.state === 'same' ? color.dim(STATE_LABEL[i.state]) : i.state === 'different' ? color.yellow(STATE_LABEL[i.state]) : color.cyan(STATE_LABEL[i.state])
      const notes = [
        i.changed === 'local' && 'changed in .env since the last sync',
        i.changed === 'remote' && 'changed in Infisical since the last sync',
        i.changed === 'both' && 'changed on both sides since the last sync',
        i.trimmed && 'local value has surrounding whitespace the server drops',
        i.remoteVersion !== undefined && `remote v${i.remoteVersion}${i.remoteUpdatedAt ? `, ${i.remoteUpdatedAt.slice(0, 19).replace('T', ' ')}` : ''}`,
      ].filter(Boolean)
      return [state, printable(i.key), color.dim(notes.join('; '))]
    })
  if (rows.length === 0) return ''
  return table([['STATE', 'KEY', 'NOTE'], ...rows])
}

export function countBy<T extends string>(values: readonly T[]): Record<T, number> {
  const out = {} as Record<T, number>
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/**
 * What a push or a pull kept, one sentence per reason: a key changed only on the other side, or on both sides (then
 * neither command guesses which value is right). Empty when nothing was kept.
 */
export function keptLines(op: 'push' | 'pull', items: ReadonlyArray<{ key: string; action: string }>, prefix = ''): string[] {
  const both = items.filter((i) => i.action === 'conflict').map((i) => i.key)
  const other = items.filter((i) => i.action === (op === 'push' ? 'remote-newer' : 'local-newer')).map((i) => i.key)
  const lines: string[] = []
  const list = (keys: string[]) => keys.map(printable).join(', ')
  if (other.length)
    lines.push(op === 'push'
      ? `${prefix}kept ${list(other)}: changed in Infisical since the last sync (npx zx tasks/00-infrastructure/infisical/pull.ts --into .env takes them; push --force overwrites them)`
      : `${prefix}kept ${list(other)} in .env: changed locally since the last sync (push sends them; pull --force overwrites them)`)
  if (both.length)
    lines.push(`${prefix}kept ${list(both)}${op === 'pull' ? ' in .env' : ''}: changed on both sides since the last sync (decide which value is right: pull --into .env --force takes Infisical's, push --force sends .env's)`)
  return lines
}
