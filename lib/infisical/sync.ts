// Sync operations between the local env files and Infisical: open a session from env values, read .env as Compose
// does, apply push/pull plans with the client, render the exported layer (.env.infisical). Inputs are passed in
// (values, registry, root, client); no prompts, no process.env, no printing (callers log).
import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import { createTransport, type Transport } from '../core/http.ts'
import { createInfisicalClient, InfisicalApiError, type InfisicalClient, type InfisicalScope, type RemoteSecret } from './client.ts'
import { readInfisicalConfig, requireConnection, syncSelection, type Connection, type InfisicalConfig, type Selection } from './config.ts'
import { loadEnvLayers } from '../env/layers.ts'
import { writeEnvFile } from '../env/file.ts'
import { ENV_NAME } from '../model/x-fields.ts'
import { looksLikeReference, type PushPlan } from './plan.ts'
import type { Registry } from '../model/registry.ts'
import { derivedEnv } from '../model/routes.ts'
import { readSettings } from '../model/settings.ts'

export const INFISICAL_ENV_FILE = '.env.infisical'

export interface Session {
  config: InfisicalConfig
  connection: Connection
  scope: InfisicalScope
  selection: Selection
  client: InfisicalClient
}

export interface SessionInput {
  values: Record<string, string | undefined>
  registry: Pick<Registry, 'secrets' | 'services' | 'variables'>
  dryRun?: { skipped(what: string): void }
  transport?: Transport
}

/** Settings → a client for the configured scope. ConfigError (exit 2) when something is missing. */
export function openSession(input: SessionInput): Session {
  const config = readInfisicalConfig(input.values)
  const connection = requireConnection(config)
  const client = createInfisicalClient({
    baseUrl: connection.url,
    clientId: connection.clientId,
    clientSecret: connection.clientSecret,
    transport: input.transport ?? createTransport(),
    dryRun: input.dryRun,
  })
  return { config, connection, scope: connection.scope, selection: syncSelection(input.registry, config), client }
}

/**
 * The keys `.env` defines, with the values Compose reads for them (interpolation sees the shell, the derived layer
 * and .env.global below). .env.infisical is left out on purpose: it is the other side of the sync.
 */
export function readLocalEnv(root: string, registry: Registry): Record<string, string> {
  let derived: Record<string, string> = {}
  const below = loadEnvLayers({ root, files: ['.env.global', '.env'] })
  try {
    derived = derivedEnv(registry, readSettings(below.values))
  } catch {
    derived = {}
  }
  const layers = loadEnvLayers({ root, files: ['.env.global', '.env'], derived })
  const out: Record<string, string> = {}
  for (const [key, sources] of Object.entries(layers.history)) if (sources.some((s) => s.kind === 'file' && s.file === '.env')) out[key] = layers.files[key]
  return out
}

export interface RemoteState {
  secrets: RemoteSecret[]
  /** the folder does not exist yet (push creates it) */
  folderMissing: boolean
}

/** Lists the folder raw (references unexpanded), as sync and diff compare it; a missing folder reads as empty. */
export async function readRemote(client: InfisicalClient, scope: InfisicalScope): Promise<RemoteState> {
  try {
    return { secrets: await client.listSecrets(scope, { expand: false }), folderMissing: false }
  } catch (err) {
    if (err instanceof InfisicalApiError && err.kind === 'folder' && scope.secretPath !== '/') return { secrets: [], folderMissing: true }
    throw err
  }
}

/** Remote keys that pull/export take: selected and usable as env names. */
export function pulledSecrets(remote: readonly RemoteSecret[], selection: Selection): { secrets: RemoteSecret[]; invalidNames: string[]; excluded: string[] } {
  const secrets: RemoteSecret[] = []
  const invalidNames: string[] = []
  const excluded: string[] = []
  for (const r of remote) {
    if (!ENV_NAME.test(r.key)) invalidNames.push(r.key)
    else if (!selection.pulls(r.key)) excluded.push(r.key)
    else secrets.push(r)
  }
  return { secrets, invalidNames, excluded }
}

export interface ApplyResult {
  requests: number
  pending: boolean
  foldersCreated: string[]
  created: number
  updated: number
  deleted: number
}

/** Applies a push plan: folder, then one batch POST, one batch PATCH, one batch DELETE (chunked). Stops at the first failure. */
export async function applyPush(client: InfisicalClient, scope: InfisicalScope, plan: PushPlan, remote: RemoteState, progress?: (what: string) => void): Promise<ApplyResult> {
  const result: ApplyResult = { requests: 0, pending: false, foldersCreated: [], created: 0, updated: 0, deleted: 0 }
  // a 2024 server lists a missing folder as empty, so any path below the root is ensured before creating
  if ((remote.folderMissing || scope.secretPath !== '/') && plan.creates.length) result.foldersCreated = await client.ensureFolder(scope)
  const steps = [
    ['create', () => client.createSecrets(scope, plan.creates), plan.creates.length],
    ['update', () => client.updateSecrets(scope, plan.updates), plan.updates.length],
    ['delete', () => client.deleteSecrets(scope, plan.deletes), plan.deletes.length],
  ] as const
  for (const [verb, run, count] of steps) {
    if (!count) continue
    progress?.(`${verb} ${count} secret${count === 1 ? '' : 's'}`)
    const r = await run()
    result.requests += r.requests
    result.pending ||= r.pending
    if (verb === 'create') result.created = count
    else if (verb === 'update') result.updated = count
    else result.deleted = count
  }
  return result
}

export interface Rendered {
  entries: Record<string, string>
  invalidNames: string[]
  excluded: string[]
  /** keys whose raw value holds a reference that expanded to an empty value (unresolved on a 2024 server) */
  unresolved: string[]
  requests: number
}

/**
 * The values to export for containers. Lists raw first; only when some value holds `${…}` does it list again with
 * expandSecretReferences=true and takes those (so the common case is one request), flagging references that
 * expanded to nothing.
 */
export async function renderRemote(client: InfisicalClient, scope: InfisicalScope, selection: Selection, opts: { expand: boolean }): Promise<Rendered> {
  const before = client.requests
  const raw = await client.listSecrets(scope, { expand: false })
  const picked = pulledSecrets(raw, selection)
  const entries: Record<string, string> = {}
  for (const s of [...picked.secrets].sort((a, b) => a.key.localeCompare(b.key))) entries[s.key] = s.value
  const unresolved: string[] = []
  const refs = picked.secrets.filter((s) => looksLikeReference(s.value))
  if (opts.expand && refs.length) {
    const expanded = new Map((await client.listSecrets(scope, { expand: true })).map((s) => [s.key, s.value]))
    for (const s of refs) {
      const v = expanded.get(s.key) ?? ''
      entries[s.key] = v
      if (v === '') unresolved.push(s.key)
    }
  }
  return { entries, invalidNames: picked.invalidNames, excluded: picked.excluded, unresolved, requests: client.requests - before }
}

export function exportHeader(origin: string, scope: InfisicalScope): string {
  return [
    `Exported from Infisical by Stackyard: ${origin}, project ${scope.projectId}, environment ${scope.environment}, path ${scope.secretPath}.`,
    'Regenerated by `up` and tasks/00-infrastructure/infisical/export.ts: change secrets in Infisical (or push), not here.',
  ].join('\n')
}

/** Writes .env.infisical (atomic, 0600, double-quoted as Compose reads it back exactly). */
export async function writeExport(root: string, origin: string, scope: InfisicalScope, entries: Record<string, string>): Promise<{ wrote: boolean }> {
  return writeEnvFile(join(root, INFISICAL_ENV_FILE), entries, { header: exportHeader(origin, scope), mode: 0o600 })
}

/** When the last export was written, or undefined when there is none. */
export async function lastExport(root: string): Promise<Date | undefined> {
  try {
    return (await stat(join(root, INFISICAL_ENV_FILE))).mtime
  } catch {
    return undefined
  }
}
