// `up` under the swarm engine: the same preflight and generated inputs as compose, then per selected stack (in
// dependency order, one at a time) the derived stack file, its Docker secrets and configs, `docker stack deploy` from stdin and a
// wait until every service runs healthy; unchanged stacks are not deployed again. Changes go through the context.
import { createHash } from 'node:crypto'
import { FailureError } from '../core/errors.ts'
import { parseImageInspect, repository } from '../docker/state.ts'
import { color } from '../core/log.ts'
import { duration, plural } from '../core/format.ts'
import { prepareSecretLayer } from '../infisical/secret-provider.ts'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import type { Stack } from '../model/registry.ts'
import { checkDocker, checkSecrets } from '../docker/preflight.ts'
import { externalNetworks, renderDerivedEnv, renderProxyOverlay } from '../docker/stack-plan.ts'
import { DERIVED_ENV_FILE } from '../model/layered-env.ts'
import { renderForPlatform, writeCaddyfile } from '../caddy/proxy.ts'
import { CADDYFILE } from '../caddy/render.ts'
import { runGraph } from '../core/orchestrate.ts'
import { selectedStacks } from '../model/routes.ts'
import { converge, reachable, requireSelected, type StackResult, type UpOptions, type UpReport } from '../stacks/up.ts'
import { deriveStackFile, renderStackFile, MANAGED_LABEL, SPEC_LABEL, STACK_LABEL, type SwarmStackFile } from './stack-file.ts'
import type { EnvSecret } from './secrets.ts'
import { requireManager, stackConfigs, stackSecrets, stackServices, waitConverged } from './state.ts'
import { checkoutFiles } from './configs.ts'
import { ensureSharedNetwork } from './network.ts'
import { requirePlacement } from './nodes.ts'
import { hostAssignment } from './placement.ts'

export interface SwarmUpReport extends UpReport {
  engine: 'swarm'
  /** declared secrets left in a service's environment (its image reads no <VAR>_FILE) */
  envSecrets: Array<EnvSecret & { stack: string }>
  /** stacks deployed by this run (the others were unchanged) */
  deployed: string[]
}

/** A stack's derived stack file, from Compose's resolved model of it; `extra`: checkout files by relative path not written yet (--dry-run); `host`: the host it is assigned to. */
export async function stackFile(ctx: Pick<StackCtx, 'exec' | 'root'>, p: Platform, stack: Stack, extra: Readonly<Record<string, string>> = {}, host?: string): Promise<SwarmStackFile> {
  const r = await p.run(ctx.exec, stack, ['config', '--format', 'json'])
  if (r.exitCode !== 0) throw new FailureError(`docker compose config failed for ${stack.name}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { hint: 'npx zx tasks/doctor.ts checks the configuration Compose reads' })
  return deriveStackFile(JSON.parse(r.stdout) as Record<string, unknown>, {
    stack,
    secretKeys: new Set(p.registry.secrets.keys()),
    value: (key) => p.compose.layers.values[key],
    files: (source) => checkoutFiles(ctx.root, source, extra),
    host,
  })
}

/**
 * Each image pinned to the registry digest its tag has on this engine (`name:tag@sha256:…`), when it came from a
 * registry: a task started later (a restart, another node, Swarm's rollback to the previous spec) runs exactly that
 * image instead of pulling whatever the tag names then; the spec label covers the pin, so a pulled image is deployed by
 * the next up (as compose's up recreates a container whose image changed). Images built here keep their tag.
 */
export async function pinImages(ctx: Pick<StackCtx, 'exec'>, file: SwarmStackFile): Promise<SwarmStackFile> {
  for (const svc of Object.values(file.doc.services)) {
    const image = typeof svc.image === 'string' ? svc.image : ''
    if (!image || image.includes('@')) continue
    const r = await ctx.exec('docker', ['image', 'inspect', image], { nothrow: true })
    const digest = r.exitCode === 0 ? parseImageInspect(r.stdout, image)?.repoDigest : undefined
    if (!digest || repository(digest) !== repository(image)) continue
    svc.image = `${image}@${digest.split('@')[1]}`
    const labels = (svc.deploy as { labels: Record<string, string> }).labels
    labels[SPEC_LABEL] = createHash('sha256').update(`${labels[SPEC_LABEL]} ${svc.image}`).digest('hex').slice(0, 16)
  }
  return file
}

export async function swarmUp(ctx: StackCtx, o: UpOptions): Promise<SwarmUpReport> {
  const facts = await checkDocker(ctx)
  ctx.log.info(color.dim(`docker ${facts.serverVersion}, compose ${facts.composeVersion} (for the resolved model), engine swarm`))
  await requireManager(ctx.exec)
  const layer = await prepareSecretLayer({ root: ctx.root, env: ctx.env, skip: o.skipInfisical, dryRun: ctx.dryRun })
  ;(layer.level === 'warn' ? ctx.log.warn : ctx.log.info)(layer.note)
  const p = loadPlatform(ctx, { environment: o.environment, profile: o.profile, secretLayer: layer.file, profiles: 'active', generating: true })
  // Compose's model is asked before the generated files exist under --dry-run: the platform that names only what is there
  const model = ctx.dryRun ? loadPlatform(ctx, { environment: o.environment, profile: o.profile, secretLayer: layer.file, profiles: 'active', generating: false }) : p
  const selection = p.registry.select(o.stacks)
  requireSelected(p, o.stacks)
  ctx.log.step(`swarm, ${p.settings.environment} environment, profile ${p.settings.profile}: ${selection.map((s) => s.name).join(', ')}`)
  checkSecrets(selection.flatMap((s) => s.secrets), p.compose.layers.values, ctx.log)
  // placement: each stack on its host's node, volumes on one node; refused before any change when no node can take it
  const hosts = hostAssignment(p.compose.layers.values, p.registry)
  await requirePlacement(ctx, hosts, selection.map((s) => ({ stack: s, services: p.plan(s).enabled })))

  await ensureSharedNetwork(ctx, [...new Set(selection.flatMap((s) => externalNetworks(ctx.root, s)))])
  await converge(ctx, DERIVED_ENV_FILE, renderDerivedEnv(p.compose.derived))
  if (p.overlay) await converge(ctx, p.overlay, renderProxyOverlay(p.registry.proxy!, p.routes)!)
  const caddyfile = renderForPlatform(p)
  const caddyfileChanged = await writeCaddyfile(ctx, caddyfile)

  const envSecrets: SwarmUpReport['envSecrets'] = []
  const deployed: string[] = []
  const warned = new Set<string>()
  const results = await runGraph<string[]>(
    selection.map((s) => ({ id: s.name, after: s.after })),
    async (name) => {
      const stack = p.registry.stack(name)
      const names = p.plan(stack).enabled.map((s) => s.name)
      if (!names.length) {
        // a selected stack whose every service is behind a profile now off: the stack file would be empty, so the stack
        // goes, as --prune removes a switched-off service of a stack that keeps others; a stack not selected is left alone
        if (selectedStacks(p.registry, p.settings).has(name) && (await stackServices(ctx.exec, stack.project)).length) {
          ctx.log.step(`${name}: no service enabled any more: removing stack ${stack.project}`)
          await ctx.change('docker', ['stack', 'rm', stack.project])
        } else ctx.log.info(`${name}: nothing to deploy (no service enabled)`)
        return names
      }
      const file = await pinImages(ctx, await stackFile(ctx, model, stack, { [CADDYFILE]: caddyfile }, hosts.stacks.get(name)))
      for (const w of file.warnings) if (!warned.has(w)) (warned.add(w), ctx.log.warn(w))
      envSecrets.push(...file.envSecrets.map((e) => ({ ...e, stack: name })))
      if (ctx.dryRun) ctx.out(`# ${stack.project}: the stack file docker stack deploy would read (from stdin)\n${renderStackFile(file, { mask: true })}`)
      // secrets first: the file names them as external
      const existing = new Set(await stackSecrets(ctx.exec, stack.project))
      for (const s of file.secrets.filter((x) => !existing.has(x.name))) {
        const value = p.compose.layers.values[s.key] ?? ''
        await ctx.change('docker', ['secret', 'create', '--label', `${MANAGED_LABEL}=1`, '--label', `${STACK_LABEL}=${stack.project}`, s.name, '-'], { input: value })
        ctx.log.info(`${name}: Docker secret ${s.name} ${ctx.dryRun ? 'would be ' : ''}created (${s.key}, for ${s.services.join(', ')})`)
      }
      // the checkout's files as configs, likewise
      const existingConfigs = new Set(await stackConfigs(ctx.exec, stack.project))
      for (const c of file.configs.filter((x) => !existingConfigs.has(x.name))) {
        await ctx.change('docker', ['config', 'create', '--label', `${MANAGED_LABEL}=1`, '--label', `${STACK_LABEL}=${stack.project}`, c.name, '-'], { input: c.content })
        ctx.log.info(`${name}: Docker config ${c.name} ${ctx.dryRun ? 'would be ' : ''}created (${c.file}, for ${c.services.join(', ')})`)
      }
      const before = await stackServices(ctx.exec, stack.project)
      const specs = Object.fromEntries(Object.entries(file.doc.services).map(([svc, def]) => [svc, (def.deploy as { labels: Record<string, string> }).labels[SPEC_LABEL]]))
      // the same spec and the replicas the file asks for (a restore scales services to 0 and leaves it to up to bring them back)
      const replicas = (svc: string) => (file.doc.services[svc].deploy as { replicas?: number }).replicas ?? 1
      const same = before.length === Object.keys(specs).length && Object.entries(specs).every(([svc, spec]) => before.find((b) => b.service === svc && b.spec === spec && b.replicas === replicas(svc)))
      if (same) ctx.log.info(`${name}: deployed as derived, nothing to change`)
      else {
        ctx.log.step(`${name}: deploying ${names.join(', ')}`)
        const r = await ctx.change('docker', ['stack', 'deploy', '--prune', '--resolve-image', 'never', '--compose-file', '-', stack.project], { input: renderStackFile(file), nothrow: true })
        if (r.exitCode !== 0) throw new FailureError(`docker stack deploy ${stack.project} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join('\n')}`)
        deployed.push(name)
      }
      if (!ctx.dryRun) await waitConverged(ctx.exec, stack.project, specs, { timeoutS: o.timeout })
      // secrets of ours this stack no longer names: removed once nothing uses them (Docker refuses while in use)
      const keep = new Set(file.secrets.map((s) => s.name))
      for (const old of [...existing].filter((n) => !keep.has(n))) {
        const r = await ctx.change('docker', ['secret', 'rm', old], { nothrow: true })
        if (r.exitCode !== 0) ctx.log.warn(`${name}: old secret ${old} is still in use; the next up removes it`)
        else ctx.log.info(`${name}: old secret ${old} ${ctx.dryRun ? 'would be ' : ''}removed`)
      }
      const keepConfigs = new Set(file.configs.map((c) => c.name))
      for (const old of [...existingConfigs].filter((n) => !keepConfigs.has(n))) {
        const r = await ctx.change('docker', ['config', 'rm', old], { nothrow: true })
        if (r.exitCode !== 0) ctx.log.warn(`${name}: old config ${old} is still in use; the next up removes it`)
        else ctx.log.info(`${name}: old config ${old} ${ctx.dryRun ? 'would be ' : ''}removed`)
      }
      return names
    },
    { concurrency: 1, onSkip: (id, because) => ctx.log.warn(`${id}: not deployed (${because})`) },
  )
  const report: StackResult[] = []
  for (const r of results) {
    if (r.status === 'ok') {
      if (!ctx.dryRun && r.value.length) ctx.log.success(`${r.id}: running, healthy (${plural(r.value.length, 'service')}, ${duration(r.ms)})`)
      report.push({ stack: r.id, status: 'ok', ms: r.ms, services: r.value })
    } else if (r.status === 'failed') {
      if (!(r.error instanceof FailureError)) throw r.error
      ctx.log.error(`${r.id}: ${r.error.message}${r.error.hint ? `\n  hint: ${r.error.hint}` : ''}`)
      report.push({ stack: r.id, status: 'failed', ms: r.ms, because: r.error.message })
    } else report.push({ stack: r.id, status: 'skipped', because: r.because })
  }
  for (const e of envSecrets) ctx.log.info(color.dim(`${e.stack}/${e.service}: ${e.key} stays in its environment (${e.variable}): the image reads no ${e.variable}_FILE`))
  const started = new Set(report.filter((r) => r.status === 'ok').map((r) => r.stack))
  return { engine: 'swarm', environment: p.settings.environment, stacks: report, reachable: reachable(p, selection.filter((s) => started.has(s.name))), caddyfileChanged, secretLayer: layer.file, envSecrets, deployed }
}
