// The last synced state between .env and Infisical (.stackyard/infisical-sync.json, mode 0600): per scope (project,
// environment, folder: what identifies the data, not the URL it is reached through) and key, an HMAC of the value both
// sides last agreed on, keyed with a random salt kept in the same file. It lets push and pull tell "changed here" from
// "changed there". Reads (migrating version 1, keyed by URL) and builds the file's content; the caller writes it.
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { STATE_DIR } from '../core/paths.ts'
import type { InfisicalScope } from './client.ts'
import type { SyncBase } from './plan.ts'

export const STATE_FILE = join(STATE_DIR, 'infisical-sync.json')

const Scopes = z.record(z.string(), z.record(z.string(), z.string()))
const StateFile = z.object({ version: z.literal(2), salt: z.string().regex(/^[0-9a-f]{64}$/), scopes: Scopes })
/** version 1 keyed each scope by `origin|project|environment|path`: one server reached through two URLs had two memories */
const StateFileV1 = z.object({ version: z.literal(1), salt: z.string().regex(/^[0-9a-f]{64}$/), scopes: Scopes })
type StateFile = z.infer<typeof StateFile>

export interface SyncState extends SyncBase {
  /** record that these keys now hold these values on both sides */
  settle(values: Record<string, string>): void
  /** the file content to write (JSON) */
  serialize(): string
  readonly changed: boolean
}

/**
 * What identifies the data of a scope: the project (its ID is unique to the instance that created it), the environment
 * and the folder. Not the URL: the same instance is reached through another address after a private → public switch.
 */
export function scopeId(s: InfisicalScope): string {
  return `${s.projectId}|${s.environment}|${s.secretPath}`
}

/**
 * Version 1 → 2: scopes re-keyed without the URL. Two URLs of one server merge; where they disagree about a key, the
 * first (sorted) memory is kept: any remembered value makes a remote change show as a conflict, never as an overwrite.
 */
function migrate(v1: z.infer<typeof StateFileV1>): StateFile {
  const scopes: StateFile['scopes'] = {}
  for (const id of Object.keys(v1.scopes).sort()) {
    const parts = id.split('|')
    if (parts.length < 4) continue
    const key = parts.slice(-3).join('|')
    scopes[key] = { ...v1.scopes[id], ...(scopes[key] ?? {}) }
  }
  return { version: 2, salt: v1.salt, scopes }
}

/** Loads the state for one scope; a missing or unreadable file starts empty (every difference then counts as unknown). */
export function loadSyncState(root: string, scope: InfisicalScope): SyncState {
  let file: StateFile | undefined
  let migrated = false
  try {
    const json: unknown = JSON.parse(readFileSync(join(root, STATE_FILE), 'utf8'))
    const parsed = StateFile.safeParse(json)
    if (parsed.success) file = parsed.data
    else {
      const old = StateFileV1.safeParse(json)
      if (old.success) {
        file = migrate(old.data)
        migrated = true
      }
    }
  } catch {
    file = undefined
  }
  const data: StateFile = file ?? { version: 2, salt: randomBytes(32).toString('hex'), scopes: {} }
  const id = scopeId(scope)
  const keys = (data.scopes[id] ??= {})
  const fingerprint = (value: string) => createHmac('sha256', Buffer.from(data.salt, 'hex')).update(value, 'utf8').digest('hex').slice(0, 32)
  // a migrated file is written back in the new form at the next save
  let changed = migrated
  return {
    get: (key) => keys[key],
    fingerprint,
    settle(values) {
      for (const [k, v] of Object.entries(values)) {
        const fp = fingerprint(v)
        if (keys[k] !== fp) {
          keys[k] = fp
          changed = true
        }
      }
    },
    serialize: () => JSON.stringify(data, null, 2) + '\n',
    get changed() {
      return changed
    },
  }
}
