// The proxy (Caddy) at run time: render the Caddyfile for the platform and write it only when it changed, find out
// whether the proxy container runs (and which host ports it publishes), validate the config (local caddy and/or in
// the container) and reload it in place. Commands go through the context's runners.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FailureError } from '../core/errors.ts'
import { which, type ExecResult } from '../core/exec.ts'
import { CADDYFILE, CADDY_CONFIG_IN_CONTAINER, renderCaddyfile } from './render.ts'
import { execCommand, psCommand } from '../docker/compose.ts'
import { parsePs, type PsRow } from '../docker/state.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { plural } from '../core/format.ts'

export function renderForPlatform(p: Platform): string {
  return renderCaddyfile({ environment: p.settings.environment, routes: p.routes })
}

/** Writes caddy/Caddyfile when its content differs (dry-run aware). Returns whether it changed. */
export async function writeCaddyfile(ctx: Pick<StackCtx, 'writeFile'>, text: string): Promise<boolean> {
  return (await ctx.writeFile(CADDYFILE, text, { mode: 0o644 })).changed
}

export interface ProxyState {
  running: boolean
  row?: PsRow
  /** host ports the proxy container publishes (ours, so free for a re-run of up) */
  published: Set<number>
  /** the networks the running proxy is attached to (they exist) */
  networks: Set<string>
}

/** Reads the proxy container's state (`compose ps`, read-only: also under --dry-run). */
export async function proxyState(ctx: Pick<StackCtx, 'exec'>, p: Platform): Promise<ProxyState> {
  const proxy = p.registry.proxy
  if (!proxy || !p.proxyStack) return { running: false, published: new Set(), networks: new Set() }
  const r = await p.run(ctx.exec, p.proxyStack, psCommand())
  const row = r.exitCode === 0 ? parsePs(r.stdout).find((x) => x.Service === proxy.name) : undefined
  const running = row?.State === 'running'
  return {
    running,
    row,
    published: new Set(running ? row!.Publishers.map((x) => x.PublishedPort).filter((n) => n > 0) : []),
    networks: new Set(running ? row!.Networks.split(',').map((n) => n.trim()).filter(Boolean) : []),
  }
}

/** `caddy validate` with the real caddy on this machine, if installed; undefined when it is not. */
export async function validateLocal(ctx: Pick<StackCtx, 'root' | 'exec'>, p: Platform): Promise<{ ok: boolean; output: string } | undefined> {
  if (!(await which('caddy'))) return undefined
  const r = await ctx.exec('caddy', ['validate', '--adapter', 'caddyfile', '--config', join(ctx.root, CADDYFILE)], {
    nothrow: true,
    cwd: join(ctx.root, 'caddy'),
    // the placeholders the config reads ({$DOMAIN}, {$CADDY_LOG_LEVEL}); a stand-in domain in private, where no site uses it
    env: { DOMAIN: p.settings.domain ?? 'example.invalid', CADDY_LOG_LEVEL: p.compose.layers.values.CADDY_LOG_LEVEL ?? 'INFO' },
  })
  return { ok: r.exitCode === 0, output: lastLines(r.stderr + r.stdout) }
}

/** `caddy validate` inside the running proxy container (the config it would load); `inProxy` runs a command there. */
export async function validateInContainer(inProxy: (command: readonly string[]) => Promise<ExecResult>): Promise<{ ok: boolean; output: string }> {
  const r = await inProxy(['caddy', 'validate', '--adapter', 'caddyfile', '--config', CADDY_CONFIG_IN_CONTAINER])
  return { ok: r.exitCode === 0, output: lastLines(r.stderr + r.stdout) }
}

/** `caddy reload` inside the running container: the new config without a restart (a change: dry-run aware). */
export async function reloadProxy(ctx: Pick<StackCtx, 'change'>, p: Platform): Promise<void> {
  const r = await p.run(ctx.change, p.proxyStack!, execCommand(p.registry.proxy!.name, ['caddy', 'reload', '--adapter', 'caddyfile', '--config', CADDY_CONFIG_IN_CONTAINER]))
  if (r.exitCode !== 0)
    throw new FailureError(`caddy reload failed in the ${p.registry.proxy!.name} container; the previous config stays active:\n${lastLines(r.stderr + r.stdout)}`, {
      hint: 'npx zx tasks/00-infrastructure/caddy.ts validate shows what is wrong',
    })
}

function lastLines(text: string, n = 8): string {
  return text.trim().split('\n').filter((l) => !/"level":"(info|warn)"/.test(l)).slice(-n).join('\n')
}

/** The three actions of tasks/00-infrastructure/caddy.ts. Returns the exit code. */
export async function caddyTask(ctx: StackCtx, p: Platform, action: string, o: { print: boolean }): Promise<number> {
  const text = renderForPlatform(p)
  if (action === 'render') {
    if (o.print) {
      ctx.out(text)
      return 0
    }
    const changed = await writeCaddyfile(ctx, text)
    if (!changed) ctx.log.success(`${CADDYFILE} is up to date (${plural(p.routes.length, 'route')}, ${p.settings.environment})`)
    else if (!ctx.dryRun) ctx.log.success(`${CADDYFILE} written (${plural(p.routes.length, 'route')}, ${p.settings.environment}); load it with: npx zx tasks/00-infrastructure/caddy.ts reload`)
    return 0
  }
  let current: string | undefined
  try {
    current = readFileSync(join(ctx.root, CADDYFILE), 'utf8')
  } catch {
    throw new FailureError(`${CADDYFILE} does not exist yet`, { hint: 'npx zx tasks/00-infrastructure/caddy.ts render' })
  }
  if (current !== text) ctx.log.warn(`${CADDYFILE} differs from what the routes render now: run npx zx tasks/00-infrastructure/caddy.ts render`)
  const state = await proxyState(ctx, p)
  if (action === 'reload') {
    if (!state.running) throw new FailureError(`the proxy (${p.registry.proxy!.name}) is not running: nothing to reload`, { hint: `start it: npx zx tasks/up.ts --stack ${p.proxyStack!.name}` })
    await reloadProxy(ctx, p)
    if (!ctx.dryRun) ctx.log.success(`${p.registry.proxy!.name}: config reloaded in place`)
    return 0
  }
  const results: Array<{ where: string; ok: boolean; output: string }> = []
  const local = await validateLocal(ctx, p)
  if (local) results.push({ where: 'local caddy', ...local })
  if (state.running) results.push({ where: `${p.registry.proxy!.name} container`, ...(await validateInContainer((c) => p.run(ctx.exec, p.proxyStack!, execCommand(p.registry.proxy!.name, c)))) })
  if (!results.length) throw new FailureError('cannot validate: caddy is not installed here and the proxy container is not running', { hint: 'install caddy (apt-get install caddy) or start the proxy: npx zx tasks/up.ts --stack ' + p.proxyStack!.name })
  for (const r of results) (r.ok ? ctx.log.success : ctx.log.error)(`${r.where}: ${r.ok ? 'valid' : 'INVALID'}${r.ok ? '' : `\n${r.output}`}`)
  return results.every((r) => r.ok) ? 0 : 1
}
