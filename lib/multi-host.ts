// One report over several Docker hosts: status and health run once per context listed in STACKYARD_CONTEXTS, each
// with runners bound to that context and the stacks assigned to it (STACKYARD_HOST_<NAME>_STACKS). A host that cannot
// be reached is a failed row, not an abort. Reads only; the per-host work is injected.
import { UsageError } from './errors.ts'
import { configuredContexts, contextRunners } from './docker-context.ts'
import { checkDocker } from './preflight.ts'
import { loadPlatform, type Platform, type StackCtx } from './platform.ts'
import type { Stack } from './registry.ts'
import { selectedStacks } from './routes.ts'

export type HostOutcome<T> = { context: string; ok: true; value: T } | { context: string; ok: false; error: string }

/** The contexts of a multi-host report; a usage error when none are configured or --context is given too. */
export function reportContexts(ctx: Pick<StackCtx, 'env' | 'dockerContext'>): string[] {
  if (ctx.dockerContext) throw new UsageError('--all-contexts and --context exclude each other', { hint: '--context NAME reports one host; --all-contexts every host of STACKYARD_CONTEXTS' })
  const contexts = configuredContexts(ctx.env.values)
  if (!contexts.length) throw new UsageError('--all-contexts: STACKYARD_CONTEXTS lists no Docker context', { hint: 'set STACKYARD_CONTEXTS=default,edge-1 in .env (names from docker context ls)' })
  return contexts
}

/** The stacks a host runs: --stack when given, else the ones assigned to it (or every stack). */
export function hostSelection(p: Platform, names: readonly string[]): Stack[] {
  if (names.length && !names.includes('all')) return names.map((n) => p.registry.stack(n))
  const here = selectedStacks(p.registry, p.settings)
  return p.registry.stacks.filter((s) => here.has(s.name))
}

/** Runs `work` once per context, concurrently, each with a context of its own (runners, --context, assignment). */
export async function acrossHosts<T>(ctx: StackCtx, contexts: readonly string[], work: (host: StackCtx, p: Platform) => Promise<T>): Promise<Array<HostOutcome<T>>> {
  return Promise.all(
    contexts.map(async (context): Promise<HostOutcome<T>> => {
      const host: StackCtx = { ...ctx, ...contextRunners(context, { dryRun: ctx.dryRun, skipped: ctx.skipped }), dockerContext: context }
      try {
        await checkDocker(host)
        const p = loadPlatform(host, { profiles: 'declared', generating: false })
        return { context, ok: true, value: await work(host, p) }
      } catch (err) {
        return { context, ok: false, error: (err as Error).message.split('\n')[0] }
      }
    }),
  )
}
