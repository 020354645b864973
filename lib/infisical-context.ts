// Glue between a task's context and the Infisical libraries: a session from the layered env with the dry-run hook,
// the local side of a sync, and saving the sync state. No prompts; files only through the context.
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { EnvLayers } from './env-layers.ts'
import type { Logger } from './log.ts'
import type { Registry } from './registry.ts'
import type { RemoteSecret } from './infisical.ts'
import { configValues, type Selection } from './infisical-config.ts'
import { openSession, readLocalEnv, type Session } from './infisical-sync.ts'
import { loadSyncState, STATE_FILE, type SyncState } from './infisical-state.ts'

export interface InfisicalTaskContext {
  root: string
  dryRun: boolean
  readonly env: EnvLayers
  readonly registry: Registry
  log: Logger
  skipped(what: string): void
  writeFile(path: string, content: string, opts?: { mode?: number; backup?: boolean; secret?: boolean }): Promise<{ changed: boolean }>
}

/** A client for the configured scope; writes go through --dry-run's hook. */
export function sessionFrom(ctx: InfisicalTaskContext): Session {
  const s = openSession({ values: configValues(ctx.env), registry: ctx.registry, dryRun: ctx.dryRun ? { skipped: ctx.skipped } : undefined })
  ctx.log.debug(`Infisical at ${s.client.origin}: project ${s.scope.projectId}, environment ${s.scope.environment}, path ${s.scope.secretPath}`)
  return s
}

/**
 * The local side of a sync: .env keys in the selection, plus .env keys that Infisical also holds (a key on both sides
 * is synced even when it is not declared), minus excluded and local-only keys.
 */
export function localSide(local: Record<string, string>, remote: readonly RemoteSecret[], selection: Selection): Record<string, string> {
  const remoteKeys = new Set(remote.map((r) => r.key))
  return Object.fromEntries(Object.entries(local).filter(([k]) => selection.push.has(k) || (remoteKeys.has(k) && selection.pulls(k))))
}

export function localEnv(ctx: InfisicalTaskContext): Record<string, string> {
  return readLocalEnv(ctx.root, ctx.registry)
}

export function syncState(ctx: InfisicalTaskContext, session: Session): SyncState {
  return loadSyncState(ctx.root, session.client.origin, session.scope)
}

/** Writes the sync state (0600) when it changed; nothing under --dry-run. */
export async function saveSyncState(ctx: InfisicalTaskContext, state: SyncState): Promise<void> {
  if (ctx.dryRun || !state.changed) return
  await mkdir(dirname(join(ctx.root, STATE_FILE)), { recursive: true })
  await ctx.writeFile(STATE_FILE, state.serialize(), { mode: 0o600, secret: true })
}
