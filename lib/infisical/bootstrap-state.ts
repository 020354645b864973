// The progress of an unfinished Infisical bootstrap (.stackyard/infisical-bootstrap.json, mode 0600): what was
// created so far and the admin token the bootstrap returned (Infisical hands it out once), so that a run after a
// failure continues from the step that failed. Read here; written through the task context (atomic, 0600), never
// under --dry-run, and removed once the credentials are in .env.
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { STATE_DIR } from '../core/paths.ts'
import { registerSecret } from '../core/redact.ts'

export const BOOTSTRAP_STATE_FILE = join(STATE_DIR, 'infisical-bootstrap.json')

const Progress = z.object({
  /** the bootstrap request was sent (its reply may have been lost) */
  sent: z.boolean().optional(),
  email: z.string().optional(),
  organization: z.string().optional(),
  /** the instance admin's token from POST /api/v1/admin/bootstrap */
  adminToken: z.string().min(1).optional(),
  organizationId: z.string().optional(),
  projectId: z.string().optional(),
  environmentReady: z.boolean().optional(),
  identityId: z.string().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().min(1).optional(),
  member: z.boolean().optional(),
})
export type BootstrapProgress = z.infer<typeof Progress>

export interface ProgressStore {
  /** the recorded progress, or undefined (none, or unreadable) */
  load(): BootstrapProgress | undefined
  save(p: BootstrapProgress): Promise<void>
  clear(): Promise<void>
  /** the file, relative to the root, for messages */
  readonly file: string
}

export interface ProgressContext {
  root: string
  dryRun: boolean
  writeFile(path: string, content: string, opts?: { mode?: number; secret?: boolean }): Promise<{ changed: boolean }>
}

export function progressStore(ctx: ProgressContext): ProgressStore {
  const abs = join(ctx.root, BOOTSTRAP_STATE_FILE)
  return {
    file: BOOTSTRAP_STATE_FILE,
    load() {
      try {
        const r = Progress.safeParse(JSON.parse(readFileSync(abs, 'utf8')))
        if (!r.success) return undefined
        for (const s of [r.data.adminToken, r.data.clientSecret]) if (s) registerSecret(s)
        return r.data
      } catch {
        return undefined
      }
    },
    async save(p) {
      if (ctx.dryRun) return
      await ctx.writeFile(BOOTSTRAP_STATE_FILE, JSON.stringify(p, null, 2) + '\n', { mode: 0o600, secret: true })
    },
    async clear() {
      if (!ctx.dryRun) await rm(abs, { force: true })
    },
  }
}

export interface StoreContext {
  editEnv(path: string, changes: Record<string, string | null>): Promise<{ changed: string[]; added: string[] }>
}

/**
 * Stores the credentials a bootstrap returned in .env (mode 0600, the previous file as .env.bak), then forgets the
 * progress (which held the admin token): the one ending of a bootstrap, for the task and the setup wizard alike.
 */
export async function storeBootstrap(ctx: StoreContext, store: ProgressStore, r: { mode: string; clientId: string; clientSecret: string; projectId: string }): Promise<{ changed: string[]; added: string[] }> {
  const stored = r.mode === 'already-configured' ? { changed: [], added: [] } : await ctx.editEnv('.env', { INFISICAL_CLIENT_ID: r.clientId, INFISICAL_CLIENT_SECRET: r.clientSecret, INFISICAL_PROJECT_ID: r.projectId })
  await store.clear()
  return stored
}
