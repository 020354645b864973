// Cloudflare IDs an earlier run found, remembered in .stackyard/cloudflare.json (mode 0600) so the next run trusts
// them instead of discovering them again: account, zone (with its name), tunnel and the Access team domain, for one
// API base URL, DOMAIN and tunnel name. IDs and names only: never a token or any other secret. A missing, unreadable
// or foreign file is an empty memory; a stale ID is the session's to detect. Reads and builds content; no writes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { STATE_DIR } from '../core/paths.ts'

export const CLOUDFLARE_STATE_FILE = join(STATE_DIR, 'cloudflare.json')

const HEX32 = /^[0-9a-f]{32}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NAME = /^[a-z0-9.-]{1,253}$/

export const Remembered = z.object({
  accountId: z.string().regex(HEX32).optional(),
  zoneId: z.string().regex(HEX32).optional(),
  zoneName: z.string().regex(NAME).optional(),
  tunnelId: z.string().regex(UUID).optional(),
  authDomain: z.string().regex(NAME).optional(),
})
export type Remembered = z.infer<typeof Remembered>

const StateFile = z.object({ version: z.literal(1), baseUrl: z.string(), domain: z.string(), tunnelName: z.string(), ids: Remembered })

export interface MemoryKey {
  baseUrl: string
  domain: string
  tunnelName: string
}

/** What the file remembers for this key ({} when nothing, or when it was written for another URL, domain or tunnel). */
export function loadRemembered(root: string, key: MemoryKey): Remembered {
  try {
    const f = StateFile.safeParse(JSON.parse(readFileSync(join(root, CLOUDFLARE_STATE_FILE), 'utf8')))
    if (!f.success || f.data.baseUrl !== key.baseUrl || f.data.domain !== key.domain || f.data.tunnelName !== key.tunnelName) return {}
    return f.data.ids
  } catch {
    return {}
  }
}

/** The file content remembering `ids` for this key (only known, well-formed values). */
export function rememberedContent(key: MemoryKey, ids: Remembered): string {
  // a value of an unexpected form is left out (not remembered) rather than failing a run that succeeded
  const clean = Object.fromEntries(Object.entries(ids).filter(([k, v]) => v !== undefined && Remembered.safeParse({ [k]: v }).success))
  return JSON.stringify({ version: 1, baseUrl: key.baseUrl, domain: key.domain, tunnelName: key.tunnelName, ids: clean }, null, 2) + '\n'
}

export function sameRemembered(a: Remembered, b: Remembered): boolean {
  const keys = ['accountId', 'zoneId', 'zoneName', 'tunnelId', 'authDomain'] as const
  return keys.every((k) => a[k] === b[k])
}
