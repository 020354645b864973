// The last synced state between .env and Infisical (.stackyard/infisical-sync.json, mode 0600): per scope and key, an
// HMAC of the value both sides last agreed on, keyed with a random salt kept in the same file. It lets push and pull
// tell "changed here" from "changed there". Reads and builds the file's content; the caller writes it atomically.
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { STATE_DIR } from './paths.ts'
import type { InfisicalScope } from './infisical.ts'
import type { SyncBase } from './infisical-plan.ts'

export const STATE_FILE = join(STATE_DIR, 'infisical-sync.json')

const StateFile = z.object({
  version: z.literal(1),
  salt: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.record(z.string(), z.record(z.string(), z.string())),
})
type StateFile = z.infer<typeof StateFile>

export interface SyncState extends SyncBase {
  /** record that these keys now hold these values on both sides */
  settle(values: Record<string, string>): void
  /** the file content to write (JSON) */
  serialize(): string
  readonly changed: boolean
}

export function scopeId(origin: string, s: InfisicalScope): string {
  return `${origin}|${s.projectId}|${s.environment}|${s.secretPath}`
}

/** Loads the state for one scope; a missing or unreadable file starts empty (every difference then counts as unknown). */
export function loadSyncState(root: string, origin: string, scope: InfisicalScope): SyncState {
  let file: StateFile | undefined
  try {
    const parsed = StateFile.safeParse(JSON.parse(readFileSync(join(root, STATE_FILE), 'utf8')))
    if (parsed.success) file = parsed.data
  } catch {
    file = undefined
  }
  const data: StateFile = file ?? { version: 1, salt: randomBytes(32).toString('hex'), scopes: {} }
  const id = scopeId(origin, scope)
  const keys = (data.scopes[id] ??= {})
  const fingerprint = (value: string) => createHmac('sha256', Buffer.from(data.salt, 'hex')).update(value, 'utf8').digest('hex').slice(0, 32)
  let changed = false
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
