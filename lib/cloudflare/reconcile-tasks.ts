// Task glue for tasks/00-infrastructure/cloudflare/*: builds the config, the desired state and the session
// from a task context (variables come from ctx.env here and are passed down explicitly), then runs
// plan → show → confirm → apply → record → report. Throws typed errors; never exits. The reconciling tasks
// hand the session the IDs remembered in .stackyard/cloudflare.json and write back what it resolved (not
// under --dry-run; IDs only, never a secret).
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../core/fs-atomic.ts'
import { CLOUDFLARE_STATE_FILE, loadRemembered, rememberedContent, sameRemembered, type MemoryKey, type Remembered } from './memory.ts'
import { FailureError } from '../core/errors.ts'
import type { FlagDecls } from '../core/flags.ts'
import type { TaskContext } from '../task/task.ts'
import type { TransportOptions } from '../core/http.ts'
import { plural } from '../core/format.ts'
import { desiredHosts, readCloudflareConfig, type CloudflareConfig, type Desired } from './config.ts'
import { openSession, type Session } from './session.ts'
import { accessEnvChanges, applyReconcile, planReconcile, type ApplyResult, type ReconcileOptions, type Scope } from './reconcile.ts'
import { renderPlan } from './diff.ts'
import { ensureTunnel, type EnsuredTunnel } from './tunnel.ts'

export type CloudflareTaskContext = Pick<
  TaskContext<FlagDecls>,
  'root' | 'env' | 'registry' | 'settings' | 'dryRun' | 'json' | 'interactive' | 'yes' | 'log' | 'out' | 'skipped' | 'confirm' | 'editEnv'
>

export interface CloudflareSetup {
  config: CloudflareConfig
  desired: Desired
  session: Session
  /** what .stackyard/cloudflare.json held (only with `remember`) */
  remembered?: Remembered
}

/** Config from the layered env (files and shell), desired hosts from the registry, one session; with `remember`,
 * the session trusts the IDs remembered by an earlier run. */
export function cloudflareSetup(ctx: CloudflareTaskContext, transportOptions: TransportOptions = {}, o: { remember?: boolean } = {}): CloudflareSetup {
  const settings = ctx.settings
  const config = readCloudflareConfig((k) => ctx.env.lookup(k), settings)
  if (settings.environment !== 'public')
    ctx.log.warn('STACKYARD_ENVIRONMENT is private: Caddy serves local ports only, so tunnel hostnames answer 404 until you switch to public')
  const desired = desiredHosts(ctx.registry, settings, ctx.env.values)
  const remembered = o.remember ? loadRemembered(ctx.root, memoryKey(config)) : undefined
  const session = openSession({ config, dryRun: ctx.dryRun ? { skipped: ctx.skipped } : undefined, transportOptions, remembered })
  return { config, desired, session, remembered }
}

const memoryKey = (config: CloudflareConfig): MemoryKey => ({ baseUrl: config.baseUrl, domain: config.domain, tunnelName: config.tunnelName })

/** Writes the IDs the session resolved to .stackyard/cloudflare.json (0600) when they differ; never under --dry-run. */
export async function rememberIds(ctx: Pick<CloudflareTaskContext, 'root' | 'dryRun'>, setup: Pick<CloudflareSetup, 'config' | 'session' | 'remembered'>): Promise<void> {
  if (ctx.dryRun) return
  const ids = setup.session.remembered()
  if (sameRemembered(ids, setup.remembered ?? {})) return
  const abs = join(ctx.root, CLOUDFLARE_STATE_FILE)
  await mkdir(dirname(abs), { recursive: true })
  await writeFileAtomic(abs, rememberedContent(memoryKey(setup.config), ids), { mode: 0o600 })
}

export interface ReconcileTaskOptions extends ReconcileOptions {
  /** ask before writing when interactive (apply) */
  confirm?: boolean
}

/** routes / dns / access / apply: plan the scope, show the diff, apply it, record AUDs, report. */
export async function reconcileTask(ctx: CloudflareTaskContext, scope: Scope, opts: ReconcileTaskOptions = {}): Promise<number> {
  const setup = cloudflareSetup(ctx, {}, { remember: true })
  const { config, desired, session } = setup
  const plan = await planReconcile(session, desired, scope, config.access, opts)
  for (const w of plan.warnings) ctx.log.warn(w)
  if (!ctx.json) ctx.out(renderPlan(plan.changes, plan.problems, plan.headers))
  let result: ApplyResult = { writes: 0, auds: new Map([...plan.hostAccess].map(([h, a]) => [h, a.aud])), authDomain: plan.authDomain, failures: [] }
  if (plan.writes) {
    if (opts.confirm && ctx.interactive && !ctx.yes && !ctx.dryRun) await ctx.confirm('Apply these changes to Cloudflare?')
    result = await applyReconcile(session, plan, { dryRun: ctx.dryRun })
  }
  await rememberIds(ctx, setup)
  let envChanged: string[] = []
  if (scope.access) {
    const changes = accessEnvChanges(desired, result, ctx.env.values)
    if (Object.keys(changes).length) {
      const r = await ctx.editEnv('.env', changes)
      envChanged = [...r.added, ...r.changed, ...r.removed]
    }
  }
  if (ctx.json)
    ctx.out({
      changes: plan.changes,
      problems: plan.problems,
      warnings: plan.warnings,
      applied: plan.writes && !ctx.dryRun,
      writes: result.writes,
      requests: session.cf.count,
      env: envChanged,
      failures: result.failures,
    })
  if (result.failures.length)
    throw new FailureError(`${plural(result.failures.length, 'Cloudflare change')} failed:\n${result.failures.join('\n')}`, { hint: 'fix the cause and run again: what succeeded stays, the rest is retried' })
  if (!plan.writes) ctx.log.success('Cloudflare already matches the registry: nothing to change')
  else if (!ctx.dryRun) ctx.log.success(`applied ${plural(result.writes, 'change request')}${envChanged.length ? `; recorded ${envChanged.join(', ')} in .env` : ''}`)
  if (plan.problems.length) {
    ctx.log.warn(`${plural(plan.problems.length, 'problem')} left for you (marked ! above)`)
    return 1
  }
  return 0
}

export interface TunnelOutcome {
  ensured: EnsuredTunnel
  config: CloudflareConfig
  /** the token in the env already matched */
  stored: boolean
}

/**
 * Ensure the tunnel exists and store its connector token as CLOUDFLARE_TUNNEL_TOKEN in .env when it differs (the
 * tunnel task and the setup wizard both do this). Warns when a higher layer (shell, .env.infisical) would win.
 */
export async function storeTunnelToken(ctx: CloudflareTaskContext): Promise<TunnelOutcome> {
  const setup = cloudflareSetup(ctx, {}, { remember: true })
  const { session, config } = setup
  const ensured = await ensureTunnel(session)
  await rememberIds(ctx, setup)
  if (!ensured.tunnel || !ensured.token) return { ensured, config, stored: false }
  const stored = ctx.env.lookup('CLOUDFLARE_TUNNEL_TOKEN') === ensured.token
  if (!stored) await ctx.editEnv('.env', { CLOUDFLARE_TUNNEL_TOKEN: ensured.token })
  const source = ctx.env.sources.CLOUDFLARE_TUNNEL_TOKEN
  if (!stored && source && !(source.kind === 'file' && source.file === '.env'))
    ctx.log.warn(`CLOUDFLARE_TUNNEL_TOKEN also comes from ${source.kind === 'shell' ? 'your shell' : source.file}, which wins over .env: update it there too`)
  return { ensured, config, stored }
}
