// Sync plans between .env and Infisical: the server's value normalisation, push / pull / status decisions with a
// three-way check against the last synced state. Pure functions of values; no I/O, no network, never prints values.
import type { RemoteSecret, SecretWrite } from './client.ts'

/**
 * What Infisical stores for a written value: trimmed on both sides; a value that ended with "\n" gets
 * one "\n" back. Comparing through this keeps status from reporting drift forever.
 */
export function serverNormalize(value: string): string {
  return value.endsWith('\n') ? value.trim() + '\n' : value.trim()
}

/** Infisical treats every `${…}` as a secret reference (no escape syntax). */
export function looksLikeReference(value: string): boolean {
  return /\$\{[^}]+\}/.test(value)
}

/** Last agreed value of each key (a keyed fingerprint), and how to fingerprint a value the same way. */
export interface SyncBase {
  get(key: string): string | undefined
  fingerprint(value: string): string
}

export type Side = 'local' | 'remote' | 'both'

/** Which side changed since the last sync, when the base knows the key; undefined when it cannot tell. */
export function changedSide(key: string, localValue: string, remoteValue: string, base?: SyncBase): Side | undefined {
  const known = base?.get(key)
  if (!base || known === undefined) return undefined
  const local = base.fingerprint(serverNormalize(localValue)) !== known
  const remote = base.fingerprint(remoteValue) !== known
  if (local && remote) return 'both'
  if (remote) return 'remote'
  if (local) return 'local'
  return undefined
}

export type PushAction = 'create' | 'update' | 'unchanged' | 'remote-only' | 'delete' | 'remote-newer' | 'conflict'

export interface PushItem {
  key: string
  action: PushAction
  /** the server would store a different value (surrounding whitespace) */
  trimmed?: boolean
  /** contains `${…}`, which Infisical treats as a reference */
  reference?: boolean
  /** the value is empty */
  empty?: boolean
}

export interface PushPlan {
  items: PushItem[]
  creates: SecretWrite[]
  updates: SecretWrite[]
  deletes: string[]
  /** keys this plan writes with a value the server would alter (trim): refused before anything is written */
  trimmed: string[]
  references: string[]
  /** keys now equal on both sides once the plan is applied (for the sync state) */
  settled: string[]
}

export interface PushOptions {
  /** delete keys that exist only in Infisical */
  prune?: boolean
  /** overwrite remote values that changed since the last sync */
  force?: boolean
  base?: SyncBase
}

/** create / update / unchanged / only in Infisical (→ delete with prune); remote changes since the last sync are kept. */
export function planPush(local: Record<string, string>, remote: readonly RemoteSecret[], opts: PushOptions = {}): PushPlan {
  const remoteByKey = new Map(remote.map((r) => [r.key, r.value]))
  const plan: PushPlan = { items: [], creates: [], updates: [], deletes: [], trimmed: [], references: [], settled: [] }
  for (const key of Object.keys(local).sort()) {
    const value = local[key]
    const stored = serverNormalize(value)
    const item: PushItem = { key, action: 'unchanged' }
    if (stored !== value) item.trimmed = true
    if (looksLikeReference(value)) {
      item.reference = true
      plan.references.push(key)
    }
    if (value === '') item.empty = true
    const current = remoteByKey.get(key)
    if (current === undefined) {
      item.action = 'create'
      plan.creates.push({ key, value })
      plan.settled.push(key)
    } else if (current === stored) {
      plan.settled.push(key)
    } else {
      const side = changedSide(key, value, current, opts.base)
      item.action = opts.force || side === undefined || side === 'local' ? 'update' : side === 'remote' ? 'remote-newer' : 'conflict'
      if (item.action === 'update') {
        plan.updates.push({ key, value })
        plan.settled.push(key)
      }
    }
    // only a value that is written can be altered by the server: one stored trimmed already is unchanged
    if (item.trimmed && (item.action === 'create' || item.action === 'update')) plan.trimmed.push(key)
    plan.items.push(item)
  }
  for (const r of [...remote].sort((a, b) => a.key.localeCompare(b.key))) {
    if (r.key in local) continue
    plan.items.push({ key: r.key, action: opts.prune ? 'delete' : 'remote-only' })
    if (opts.prune) plan.deletes.push(r.key)
  }
  return plan
}

export type PullAction = 'add' | 'update' | 'unchanged' | 'local-only' | 'local-newer' | 'conflict' | 'removed'

export interface PullItem {
  key: string
  action: PullAction
}

export interface PullPlan {
  items: PullItem[]
  /** key → new value for .env (never a removal) */
  changes: Record<string, string>
  /** keys equal on both sides once applied */
  settled: string[]
}

/** Infisical → .env: add / update / unchanged; local-only keys are never deleted; local edits since the last sync are kept. */
export function planPullInto(local: Record<string, string>, remote: readonly RemoteSecret[], opts: { force?: boolean; base?: SyncBase } = {}): PullPlan {
  const plan: PullPlan = { items: [], changes: {}, settled: [] }
  const remoteKeys = new Set(remote.map((r) => r.key))
  for (const r of [...remote].sort((a, b) => a.key.localeCompare(b.key))) {
    const mine = local[r.key]
    if (mine === undefined) {
      plan.items.push({ key: r.key, action: 'add' })
      plan.changes[r.key] = r.value
      plan.settled.push(r.key)
    } else if (serverNormalize(mine) === r.value) {
      plan.items.push({ key: r.key, action: 'unchanged' })
      plan.settled.push(r.key)
    } else {
      const side = changedSide(r.key, mine, r.value, opts.base)
      const action: PullAction = opts.force || side === undefined || side === 'remote' ? 'update' : side === 'local' ? 'local-newer' : 'conflict'
      plan.items.push({ key: r.key, action })
      if (action === 'update') {
        plan.changes[r.key] = r.value
        plan.settled.push(r.key)
      }
    }
  }
  for (const key of Object.keys(local).sort()) if (!remoteKeys.has(key)) plan.items.push({ key, action: 'local-only' })
  return plan
}

/** Infisical → a generated mirror file (.env.infisical): every remote key; keys gone from Infisical are removed. */
export function planMirror(current: Record<string, string>, remote: readonly RemoteSecret[]): PullItem[] {
  const items: PullItem[] = remote.map((r) => ({ key: r.key, action: !(r.key in current) ? 'add' : current[r.key] === r.value ? 'unchanged' : 'update' }))
  const remoteKeys = new Set(remote.map((r) => r.key))
  for (const key of Object.keys(current)) if (!remoteKeys.has(key)) items.push({ key, action: 'removed' })
  return items.sort((a, b) => a.key.localeCompare(b.key))
}

export type StatusState = 'same' | 'different' | 'only-local' | 'only-remote'

export interface StatusItem {
  key: string
  state: StatusState
  /** for `different`: which side changed since the last sync, when known */
  changed?: Side
  /** the local value has surrounding whitespace the server drops (compared without it) */
  trimmed?: boolean
  /** remote version number and last update, when the server sent them (metadata, never values) */
  remoteVersion?: number
  remoteUpdatedAt?: string
}

/** Per key: only local, only remote, different, same. Values are compared as the server would store them. */
export function diffStatus(local: Record<string, string>, remote: readonly RemoteSecret[], base?: SyncBase): StatusItem[] {
  const byKey = new Map(remote.map((r) => [r.key, r]))
  const keys = [...new Set([...Object.keys(local), ...byKey.keys()])].sort()
  return keys.map((key) => {
    const mine = local[key]
    const theirs = byKey.get(key)
    const meta = { ...(theirs?.version !== undefined ? { remoteVersion: theirs.version } : {}), ...(theirs?.updatedAt ? { remoteUpdatedAt: theirs.updatedAt } : {}) }
    if (theirs === undefined) return { key, state: 'only-local' as const, ...(serverNormalize(mine) !== mine ? { trimmed: true } : {}) }
    if (mine === undefined) return { key, state: 'only-remote' as const, ...meta }
    const trimmed = serverNormalize(mine) !== mine ? { trimmed: true } : {}
    if (serverNormalize(mine) === theirs.value) return { key, state: 'same' as const, ...trimmed, ...meta }
    const changed = changedSide(key, mine, theirs.value, base)
    return { key, state: 'different' as const, ...(changed ? { changed } : {}), ...trimmed, ...meta }
  })
}

export function inSync(items: readonly StatusItem[]): boolean {
  return items.every((i) => i.state === 'same')
}
