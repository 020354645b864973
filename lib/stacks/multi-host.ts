// One report over several Docker hosts: status and health run once per context listed in STACKYARD_CONTEXTS, each
// with runners bound to that context and the stacks assigned to it (STACKYARD_HOST_<NAME>_STACKS). A host that cannot
// be reached is a failed row, not an abort. Reads only; the per-host work and its table are injected.
import { UsageError } from '../core/errors.ts'
import { configuredContexts, contextRunners } from '../core/docker-context.ts'
import { checkDocker } from '../docker/preflight.ts'
import { loadPlatform, platformEnv, type Platform, type PlatformOptions, type StackCtx } from '../docker/platform.ts'
import type { Stack } from '../model/registry.ts'
import { stacksNamed } from '../model/routes.ts'

export type HostOutcome<T> = { context: string; ok: true; value: T } | { context: string; ok: false; error: string }

const REPORT: PlatformOptions = { profiles: 'declared', generating: false }

/**
 * Runs `work` once per context of STACKYARD_CONTEXTS, concurrently, each with a context of its own (runners,
 * --context, assignment). The env files are read once for all hosts. A usage error when none are configured or
 * --context is given too.
 */
export async function acrossHosts<T>(ctx: StackCtx, work: (host: StackCtx, p: Platform) => Promise<T>): Promise<Array<HostOutcome<T>>> {
  if (ctx.dockerContext) throw new UsageError('--all-contexts and --context exclude each other', { hint: '--context NAME reports one host; --all-contexts every host of STACKYARD_CONTEXTS' })
  const shared = platformEnv(ctx, REPORT)
  const contexts = configuredContexts(shared.base.layers.values)
  if (!contexts.length) throw new UsageError('--all-contexts: STACKYARD_CONTEXTS lists no Docker context', { hint: 'set STACKYARD_CONTEXTS=default,edge-1 in .env (names from docker context ls)' })
  return Promise.all(
    contexts.map(async (context): Promise<HostOutcome<T>> => {
      const host: StackCtx = { ...ctx, ...contextRunners(context, { dryRun: ctx.dryRun, skipped: ctx.skipped }), dockerContext: context }
      try {
        await checkDocker(host)
        return { context, ok: true, value: await work(host, loadPlatform(host, REPORT, shared)) }
      } catch (err) {
        return { context, ok: false, error: (err as Error).message.split('\n')[0] }
      }
    }),
  )
}

/**
 * `--all-contexts` of status and health: `collect` per host over its stacks (--stack or its assignment), one table
 * (or JSON with the rows under `key`), exit 0 when every host answered and every row is ok, else 1.
 */
export async function hostsReport<R extends { ok: boolean }>(
  ctx: StackCtx,
  o: { stacks: readonly string[]; key: string; collect: (host: StackCtx, p: Platform, stacks: Stack[]) => Promise<R[]>; render: (hosts: ReadonlyArray<HostOutcome<R[]>>) => string },
): Promise<number> {
  const hosts = await acrossHosts(ctx, (host, p) => o.collect(host, p, stacksNamed(p.registry, p.settings, o.stacks, 'selected')))
  const ok = hosts.every((h) => h.ok && h.value.every((r) => r.ok))
  if (ctx.json) ctx.out({ ok, contexts: hosts.map((h) => (h.ok ? { context: h.context, ok: h.value.every((r) => r.ok), [o.key]: h.value } : { context: h.context, ok: false, error: h.error })) })
  else ctx.out(o.render(hosts))
  return ok ? 0 : 1
}
