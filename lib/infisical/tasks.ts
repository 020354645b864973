// Glue between a task's context and the Infisical libraries: a session from the layered env with the dry-run hook,
// the local side of a sync, saving the sync state, and bootstrap-then-store. Prompts only through the given ask;
// files only through the context.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDotenv } from '../env/dotenv.ts'
import { printable } from '../core/format.ts'
import type { EnvLayers } from '../env/layers.ts'
import type { Logger } from '../core/log.ts'
import type { Registry } from '../model/registry.ts'
import { MAX_BODY_BYTES, type RemoteSecret } from './client.ts'
import { configValues, credentialsWhere, readInfisicalConfig, type Selection } from './config.ts'
import { bootstrapInfisical, type BootstrapInput, type BootstrapResult } from './bootstrap.ts'
import { progressStore, storeBootstrap } from './bootstrap-state.ts'
import { applyPush, INFISICAL_ENV_FILE, openSession, pulledSecrets, readLocalEnv, readRemote, renderRemote, type ApplyResult, type Rendered, type Session } from './sync.ts'
import { planMirror, planPullInto, planPush, serverNormalize, type PullPlan, type PushPlan } from './plan.ts'
import { ConfigError } from '../core/errors.ts'
import { loadSyncState, STATE_FILE, type SyncState } from './state.ts'

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
  return loadSyncState(ctx.root, session.scope)
}

/** Writes the sync state (0600) when it changed; nothing under --dry-run. */
export async function saveSyncState(ctx: InfisicalTaskContext, state: SyncState): Promise<void> {
  if (ctx.dryRun || !state.changed) return
  await ctx.writeFile(STATE_FILE, state.serialize(), { mode: 0o600, secret: true })
}

export interface PushOptions {
  prune?: boolean
  force?: boolean
  allowTrim?: boolean
  progress?: (what: string) => void
  /** called with the plan before anything is sent (and before a whitespace refusal): where a task shows it */
  onPlan?: (plan: PushPlan) => void
}

export interface PushOutcome {
  session: Session
  plan: PushPlan
  result: ApplyResult
  /** keys changed in Infisical since the last sync, kept (not overwritten) */
  kept: string[]
  /** Infisical treats `${…}` as a reference: these values hold one */
  references: string[]
}

/**
 * One push, as the push task and the setup wizard both do it: plan against the remote and the last-synced state,
 * refuse values the server would trim (unless allowed), apply in batches, settle the sync state. Nothing is written
 * when the plan is refused; under --dry-run the writes go through the dry-run hook.
 */
export async function pushSecrets(ctx: InfisicalTaskContext, o: PushOptions = {}): Promise<PushOutcome> {
  const session = sessionFrom(ctx)
  const remote = await readRemote(session.client, session.scope)
  const local = localSide(localEnv(ctx), remote.secrets, session.selection)
  const state = syncState(ctx, session)
  const plan = planPush(local, remote.secrets, { prune: o.prune, force: o.force, base: state })
  o.onPlan?.(plan)
  if (plan.trimmed.length && !o.allowTrim)
    throw new ConfigError(`.env: ${plan.trimmed.join(', ')} ${plan.trimmed.length === 1 ? 'has' : 'have'} leading or trailing whitespace, which Infisical would drop; nothing was pushed`, {
      hint: 'remove the whitespace in .env, or push with npx zx tasks/00-infrastructure/infisical/push.ts --allow-trim to store the trimmed values',
    })
  const oversized = session.client.oversized(session.scope, [...plan.creates, ...plan.updates])
  if (oversized.length)
    throw new ConfigError(`.env: ${oversized.join(', ')} ${oversized.length === 1 ? 'is' : 'are'} too large to push: Infisical refuses request bodies over ${MAX_BODY_BYTES} bytes (1 MiB), and one value alone makes a batch that big; nothing was pushed`, {
      hint: 'keep such a value out of the sync (INFISICAL_SYNC_EXCLUDE=KEY in .env) or put it in a file',
    })
  const result = await applyPush(session.client, session.scope, plan, remote, o.progress)
  if (!ctx.dryRun && !result.pending) state.settle(Object.fromEntries(plan.settled.map((k) => [k, serverNormalize(local[k])])))
  await saveSyncState(ctx, state)
  const kept = plan.items.filter((i) => i.action === 'remote-newer' || i.action === 'conflict').map((i) => i.key)
  return { session, plan, result, kept, references: plan.references }
}

/** What the bootstrap task and the setup wizard ask for; the connection, progress and messages come from the context. */
export type BootstrapRequest = Pick<BootstrapInput, 'email' | 'organization' | 'projectName' | 'identityName' | 'password' | 'clientId' | 'clientSecret' | 'projectId' | 'interactive' | 'ask'>

/**
 * Bootstraps Infisical (or checks the identity already configured) with the env's connection, resuming an unfinished
 * run, then stores the credentials in .env: the one procedure of the bootstrap task and the setup wizard.
 */
export async function bootstrapAndStore(
  ctx: InfisicalTaskContext & { editEnv(path: string, changes: Record<string, string | null>): Promise<{ changed: string[]; added: string[] }> },
  req: BootstrapRequest,
): Promise<{ result: BootstrapResult; stored: { changed: string[]; added: string[] } }> {
  const values = configValues(ctx.env)
  const config = readInfisicalConfig(values)
  const progress = progressStore(ctx)
  const result = await bootstrapInfisical({
    ...req,
    config,
    siteUrl: values.INFISICAL_SITE_URL || config.url || '',
    log: ctx.log,
    dryRun: ctx.dryRun ? { skipped: ctx.skipped } : undefined,
    progress,
    credentialsFrom: credentialsWhere(ctx.env),
  })
  return { result, stored: await storeBootstrap(ctx, progress, result) }
}

export interface PlannedPull {
  session: Session
  /** the secrets pulled (after the selection), as they will be written */
  remote: RemoteSecret[]
  /** the export for .env.infisical (undefined with --into .env) */
  rendered?: Rendered
  plan: PullPlan
  state: SyncState
  /** what was skipped or expanded to nothing, one line each */
  warnings: string[]
}

/**
 * Reads Infisical and plans a pull: into .env (keys changed on both sides since the last sync are kept unless
 * `force`), or as the .env.infisical mirror (references expanded with `expand`). Reads only; the task applies.
 */
export async function planPull(ctx: InfisicalTaskContext, o: { intoEnv: boolean; expand: boolean; force: boolean }): Promise<PlannedPull> {
  const session = sessionFrom(ctx)
  const raw = o.intoEnv ? pulledSecrets((await readRemote(session.client, session.scope)).secrets, session.selection) : undefined
  const rendered = o.intoEnv ? undefined : await renderRemote(session.client, session.scope, session.selection, { expand: o.expand })
  const remote = raw ? raw.secrets : Object.entries(rendered!.entries).map(([key, value]) => ({ key, value }))
  const warnings = (raw?.invalidNames ?? rendered!.invalidNames).map((bad) => `skipped Infisical key "${printable(bad)}": not a variable name`)
  if (rendered?.unresolved.length) warnings.push(`references expanded to an empty value: ${rendered.unresolved.join(', ')}`)
  const state = syncState(ctx, session)
  const plan = o.intoEnv
    ? planPullInto(localSide(localEnv(ctx), remote, session.selection), remote, { force: o.force, base: state })
    : { items: planMirror(readMirror(join(ctx.root, INFISICAL_ENV_FILE)), remote), changes: {}, settled: [] }
  return { session, remote, rendered, plan, state, warnings }
}

/** the current .env.infisical (empty when missing or unreadable: the pull rewrites it whole) */
function readMirror(path: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(path, 'utf8'))
  } catch {
    return {}
  }
}
