// `up`: preflight, the secret layer, generated inputs (derived env, proxy ports, Caddyfile), then every selected
// stack as one compose project in dependency order (independent stacks concurrently), each `up --wait`ed; a failed
// stack is diagnosed and skips its dependants. Changes go through the context (dry-run aware); no prompts.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { FailureError, UsageError } from '../core/errors.ts'
import { color } from '../core/log.ts'
import { duration, plural, table } from '../core/format.ts'
import type { Environment, HardwareProfile } from '../model/x-fields.ts'
import type { Route, Stack } from '../model/registry.ts'
import { prepareSecretLayer } from '../infisical/secret-provider.ts'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import { checkDocker, checkGpu, checkPorts, checkSecrets, ensureNetworks, probePort } from '../docker/preflight.ts'
import { externalNetworks, renderDerivedEnv, renderProxyOverlay } from '../docker/stack-plan.ts'
import { DERIVED_ENV_FILE } from '../model/layered-env.ts'
import { proxyState, reloadProxy, renderForPlatform, writeCaddyfile } from '../caddy/proxy.ts'
import { upCommand } from '../docker/compose.ts'
import { runGraph } from '../core/orchestrate.ts'
import { routeUrl, selectedStacks } from '../model/routes.ts'
import { diagnoseStack, renderDiagnosis, type StackDiagnosis } from '../docker/diagnose.ts'
import { remoteBindMounts } from '../docker/remote-hosts.ts'

export interface UpOptions {
  stacks: string[]
  environment?: Environment
  profile?: HardwareProfile
  skipInfisical: boolean
  /** seconds for `up --wait` per stack */
  timeout: number
  concurrency?: number
}

export interface StackResult {
  stack: string
  status: 'ok' | 'failed' | 'skipped'
  ms?: number
  services?: string[]
  because?: string
  diagnosis?: StackDiagnosis
}

export interface Reachable {
  stack: string
  service: string
  url: string
  access?: string
}

export interface UpReport {
  environment: Environment
  stacks: StackResult[]
  reachable: Reachable[]
  caddyfileChanged: boolean
  secretLayer: string | null
}

class StackFailed extends Error {
  diagnosis: StackDiagnosis
  constructor(d: StackDiagnosis) {
    super(`stack ${d.stack} failed`)
    this.diagnosis = d
  }
}

/** Writes a generated file only when its content differs (so --dry-run and re-runs report only real changes). */
export async function converge(ctx: Pick<StackCtx, 'writeFile'>, rel: string, content: string): Promise<boolean> {
  return (await ctx.writeFile(rel, content, { mode: 0o644 })).changed
}

export async function up(ctx: StackCtx, o: UpOptions): Promise<UpReport> {
  const facts = await checkDocker(ctx)
  ctx.log.info(color.dim(`docker ${facts.serverVersion}, compose ${facts.composeVersion}`))

  const layer = await prepareSecretLayer({ root: ctx.root, env: ctx.env, skip: o.skipInfisical, dryRun: ctx.dryRun })
  ;(layer.level === 'warn' ? ctx.log.warn : ctx.log.info)(layer.note)

  const p = loadPlatform(ctx, { environment: o.environment, profile: o.profile, secretLayer: layer.file, profiles: 'active', generating: true })
  // state queries must not name files that up has not written yet
  const current = loadPlatform(ctx, { environment: o.environment, profile: o.profile, secretLayer: layer.file, profiles: 'active', generating: false })
  const selection = p.registry.select(o.stacks)
  requireSelected(p, o.stacks)
  ctx.log.step(`${p.settings.environment} environment, profile ${p.settings.profile}${p.settings.profiles.length ? ` + ${p.settings.profiles.join(', ')}` : ''}: ${selection.map((s) => s.name).join(', ')}`)

  checkSecrets(selection.flatMap((s) => s.secrets), p.compose.layers.values, ctx.log)
  // a remote engine: what only this machine can tell (GPU driver, free ports) is skipped
  const remote = p.remote
  if (p.settings.profile.startsWith('gpu-') && selection.some((s) => p.plan(s).active.includes(p.settings.profile)))
    await checkGpu(p.settings.profile, facts, { exec: ctx.exec, exists: existsSync }, { local: !remote })
  const startsProxy = Boolean(p.proxyStack && selection.includes(p.proxyStack))
  // a host whose stacks leave out the proxy keeps its hands off the Caddyfile (the proxy's host owns it)
  const proxyHere = Boolean(p.proxyStack && selectedStacks(p.registry, p.settings).has(p.proxyStack.name))
  const ownsCaddyfile = !remote || proxyHere
  // the proxy's state before this run (one `compose ps`), asked only when something needs it
  let proxyAsked: Promise<Awaited<ReturnType<typeof proxyState>>> | undefined
  const proxyBefore = () => (proxyAsked ??= proxyState(ctx, current))
  if (remote) {
    ctx.log.info(`context ${p.context}: the stacks of ${p.stacksVariable}; the local port and GPU driver checks are skipped (they would test this machine)`)
    for (const m of remoteBindMounts(p.registry, selection.flatMap((s) => p.plan(s).enabled)))
      ctx.log.warn(`${m.service}: bind mount ${m.source} → ${m.target} is resolved on the host of context ${p.context}: ${m.absolute} must exist there (copy the checkout to the same path on that host)`)
  }
  if (p.settings.environment === 'private' && startsProxy && !remote)
    await checkPorts(
      p.routes.map((r) => ({ port: r.local_port, owner: `${r.stack}/${r.service}`, file: p.registry.stack(r.stack).file })),
      p.settings.bindAddress,
      async () => (await proxyBefore()).published,
      { probePort },
    )
  // a running proxy attached to a network proves it exists (when its state was asked anyway)
  await ensureNetworks([...new Set(selection.flatMap((s) => externalNetworks(ctx.root, s)))], ctx, proxyAsked ? (await proxyAsked).networks : undefined)

  await converge(ctx, DERIVED_ENV_FILE, renderDerivedEnv(p.compose.derived))
  if (p.overlay && ownsCaddyfile) await converge(ctx, p.overlay, renderProxyOverlay(p.registry.proxy!, p.routes)!)
  if (!ownsCaddyfile) ctx.log.info(`caddy/Caddyfile left as it is: the proxy does not run on context ${p.context}`)
  const caddyfileChanged = ownsCaddyfile ? await writeCaddyfile(ctx, renderForPlatform(p)) : false
  if (caddyfileChanged) ctx.log.info(`caddy/Caddyfile ${ctx.dryRun ? 'would be ' : ''}updated (${plural(p.routes.length, 'route')})`)
  const reload = caddyfileChanged && (await proxyBefore()).running
  // Routes are served by the proxy: when this run does not start the proxy's stack but starts routed services, the
  // proxy must run and publish exactly the active local ports (Compose only applies a new port list by recreating it)
  const proxyNeeded = !startsProxy && ownsCaddyfile && Boolean(p.registry.proxy && p.proxyStack) && selection.some((s) => p.plan(s).routes.length > 0)
  const wantedPorts = p.settings.environment === 'private' ? [...new Set(p.routes.map((r) => r.local_port))] : []
  const before = proxyNeeded ? await proxyBefore() : undefined
  const portsDiffer = before !== undefined && (wantedPorts.length !== before.published.size || wantedPorts.some((port) => !before.published.has(port)))
  if (before && (!before.running || portsDiffer)) {
    const proxy = p.registry.proxy!
    ctx.log.step(`${p.proxyStack!.name}: ${before.running ? `publishing ${wantedPorts.join(', ')} on ${proxy.name}` : `starting ${proxy.name}, which serves the routes`}`)
    const r = await p.run(ctx.change, p.proxyStack!, upCommand({ timeout: o.timeout, services: [proxy.name] }))
    if (r.exitCode !== 0) throw new FailureError(`${proxy.name} could not be ${before.running ? 'recreated with the new ports' : 'started'}:\n${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`, { hint: `npx zx tasks/up.ts --stack ${p.proxyStack!.name}` })
  } else if (reload && !startsProxy) await reloadProxy(ctx, p)

  const results = await runGraph<string[]>(
    selection.map((s) => ({ id: s.name, after: s.after })),
    async (name) => {
      const stack = p.registry.stack(name)
      const plan = p.plan(stack)
      const names = plan.enabled.map((s) => s.name)
      if (!names.length) {
        // Compose refuses an up with no service selected; nothing to wait for either
        ctx.log.info(`${name}: nothing to start (${selectedStacks(p.registry, p.settings).has(name) ? `every service is behind a profile that is off: ${stack.profiles.join(', ')}` : `not in ${p.stacksVariable}`})`)
        return names
      }
      ctx.log.step(`${name}: starting ${names.join(', ')}${plan.active.length ? ` [profiles: ${plan.active.join(', ')}]` : ''}`)
      const r = await p.run(ctx.change, stack, upCommand({ timeout: o.timeout }))
      if (r.exitCode !== 0) throw new StackFailed(await diagnoseStack(ctx, p, stack, r.stderr || r.stdout))
      if (reload && stack === p.proxyStack) await reloadProxy(ctx, p)
      return names
    },
    {
      concurrency: o.concurrency,
      onSkip: (id, because) => ctx.log.warn(`${id}: not started (${because})`),
    },
  )

  const report: StackResult[] = []
  for (const r of results) {
    if (r.status === 'ok') {
      if (!ctx.dryRun) ctx.log.success(`${r.id}: up, healthy (${plural(r.value.length, 'service')}, ${duration(r.ms)})`)
      report.push({ stack: r.id, status: 'ok', ms: r.ms, services: r.value })
    } else if (r.status === 'failed') {
      const d = r.error instanceof StackFailed ? r.error.diagnosis : undefined
      if (!d) throw r.error
      ctx.log.error(`${r.id}: failed after ${duration(r.ms)}\n${renderDiagnosis(d)}`)
      report.push({ stack: r.id, status: 'failed', ms: r.ms, diagnosis: d })
    } else report.push({ stack: r.id, status: 'skipped', because: r.because })
  }
  const started = new Set(report.filter((r) => r.status === 'ok').map((r) => r.stack))
  return {
    environment: p.settings.environment,
    stacks: report,
    reachable: reachable(p, selection.filter((s) => started.has(s.name))),
    caddyfileChanged,
    secretLayer: layer.file,
  }
}

/**
 * A stack named on the command line that this installation (or host) does not run is a usage error that says how to
 * select it; starting "0 services" and calling that healthy would hide the mistake.
 */
export function requireSelected(p: Pick<Platform, 'registry' | 'settings' | 'stacksVariable'>, names: readonly string[]): void {
  const selected = selectedStacks(p.registry, p.settings)
  const off = names.filter((n) => n !== 'all').map((n) => p.registry.stack(n)).filter((s) => !selected.has(s.name))
  if (!off.length) return
  const current = p.settings.stacks ?? []
  const list = [...new Set([...current, ...off.map((s) => s.name)])].join(',')
  throw new UsageError(`${off.map((s) => s.name).join(', ')} ${off.length > 1 ? 'are' : 'is'} not selected: ${p.stacksVariable}=${current.join(',')}`, {
    hint: p.stacksVariable === 'STACKYARD_STACKS' ? `select ${off.length > 1 ? 'them' : 'it'}: npx zx tasks/setup.ts --stacks ${list} (or set STACKYARD_STACKS=${list} in .env)` : `add ${off.length > 1 ? 'them' : 'it'} to ${p.stacksVariable} in .env`,
  })
}

/** Where each routed service of these stacks is reached: local ports in private, https://<sub>.<domain> in public. */
export function reachable(p: Platform, stacks: readonly Stack[]): Reachable[] {
  const host = ['127.0.0.1', '0.0.0.0', '::', '::1'].includes(p.settings.bindAddress) ? 'localhost' : p.settings.bindAddress
  const routes: Route[] = stacks.flatMap((s) => p.plan(s).routes)
  return routes.map((r) => ({ stack: r.stack, service: r.service, url: routeUrl(r, p.settings, host), ...(p.settings.environment === 'public' ? { access: r.access } : {}) }))
}

export function renderUpReport(r: UpReport): string {
  const lines: string[] = []
  if (r.reachable.length) {
    const rows = [['service', 'url', ...(r.environment === 'public' ? ['access'] : [])]]
    for (const x of r.reachable) rows.push([`${x.stack}/${x.service}`, x.url, ...(r.environment === 'public' ? [x.access ?? ''] : [])])
    lines.push(table(rows))
  } else lines.push('no routed service in the started stacks')
  return lines.join('\n')
}

/** The exit status: a failure names the failed stacks and the skipped dependants. */
export function upFailure(r: UpReport): FailureError | undefined {
  const failed = r.stacks.filter((s) => s.status === 'failed')
  if (!failed.length) return undefined
  const skipped = r.stacks.filter((s) => s.status === 'skipped')
  const what = failed.map((f) => `${f.stack}${f.diagnosis?.services.length ? ` (${f.diagnosis.services.map((s) => `${s.service} ${s.health || s.state}`).join(', ')})` : ''}`)
  return new FailureError(`${plural(failed.length, 'stack')} failed: ${what.join('; ')}${skipped.length ? `; not started: ${skipped.map((s) => s.stack).join(', ')}` : ''}`, {
    hint: `the health-check output and last log lines are above; more: npx zx tasks/logs.ts --stack ${failed[0].stack}`,
  })
}
