// Whether a key opens Infisical's root key, by Infisical's own boot rule: the rows of `kms_root_config` hold the root key
// wrapped with AES-256-GCM (IV 12 bytes ‖ ciphertext ‖ tag 16 bytes) under the instance key, which is ENCRYPTION_KEY's
// UTF-8 bytes (or ROOT_ENCRYPTION_KEY's base64) and must be 32 bytes; Infisical starts when a software-wrapped row opens.
// Pure: the rows come in as `kms_root_config` rendered as JSON by PostgreSQL; nothing here prints a key.
import { createDecipheriv } from 'node:crypto'

/** The fixed id of the row holding the active wrapped root key (Infisical's KMS_ROOT_CONFIG_UUID). */
export const ACTIVE_ROW_ID = '00000000-0000-0000-0000-000000000000'

/** psql query (constant): every row as one JSON array; columns Infisical added later simply appear in newer versions. */
export const ROOT_KEY_QUERY = `select coalesce(json_agg(row_to_json(k)), '[]'::json) from kms_root_config k`

/** PostgreSQL's message when the table does not exist: Infisical has not run its migrations on this database yet. */
export const NO_TABLE = /relation "kms_root_config" does not exist/

export type KeyEncoding = 'utf8' | 'base64'

export type RootKeyVerdict =
  | { status: 'opens'; row: string }
  | { status: 'does-not-open'; rows: number }
  | { status: 'bad-key'; bytes: number }
  | { status: 'not-initialized' }
  | { status: 'hsm' }
  | { status: 'unreadable'; why: string }

interface Row {
  id: string
  wrapped: Buffer
  hsm: boolean
}

/** The rows from the query's output; bytea arrives as PostgreSQL's hex form (\x…). */
export function parseRootKeyRows(stdout: string): Row[] | string {
  let json: unknown
  try {
    json = JSON.parse(stdout.trim() || '[]')
  } catch {
    return 'the query did not return JSON'
  }
  if (!Array.isArray(json)) return 'the query did not return a list of rows'
  const rows: Row[] = []
  for (const r of json as Array<Record<string, unknown>>) {
    const hex = typeof r?.encryptedRootKey === 'string' ? /^\\x([0-9a-f]*)$/i.exec(r.encryptedRootKey)?.[1] : undefined
    if (typeof r?.id !== 'string' || hex === undefined) return 'a row has no id or no encryptedRootKey'
    // encryptionStrategy arrived with HSM support; older versions have only software-wrapped rows
    rows.push({ id: r.id, wrapped: Buffer.from(hex, 'hex'), hsm: r.encryptionStrategy === 'HSM' })
  }
  return rows
}

/** Tries the key on each software-wrapped row, the active one first (as Infisical does when it boots). */
export function judgeRootKey(stdout: string, key: string, encoding: KeyEncoding = 'utf8'): RootKeyVerdict {
  const rows = parseRootKeyRows(stdout)
  if (typeof rows === 'string') return { status: 'unreadable', why: rows }
  if (!rows.length) return { status: 'not-initialized' }
  const kek = Buffer.from(key, encoding)
  if (kek.length !== 32) return { status: 'bad-key', bytes: kek.length }
  const ordered = [...rows.filter((r) => r.id === ACTIVE_ROW_ID), ...rows.filter((r) => r.id !== ACTIVE_ROW_ID)]
  const software = ordered.filter((r) => !r.hsm)
  if (!software.length) return { status: 'hsm' }
  for (const r of software) if (opens(r.wrapped, kek)) return { status: 'opens', row: r.id }
  return { status: 'does-not-open', rows: software.length }
}

function opens(blob: Buffer, kek: Buffer): boolean {
  if (blob.length < 12 + 16) return false
  try {
    const d = createDecipheriv('aes-256-gcm', kek, blob.subarray(0, 12))
    d.setAuthTag(blob.subarray(-16))
    const plain = Buffer.concat([d.update(blob.subarray(12, -16)), d.final()])
    plain.fill(0)
    return true
  } catch {
    return false
  }
}
