// The shared network under swarm: ai-network as an attachable overlay (services of every stack and one-off
// containers meet on it), created once with Stackyard's label; a same-named local bridge left by the compose engine
// is an error with the way out, never replaced behind the user's back.
import { UsageError } from '../core/errors.ts'
import type { StackCtx } from '../docker/platform.ts'
import { MANAGED_LABEL } from './stack-file.ts'

export async function ensureSharedNetwork(ctx: Pick<StackCtx, 'exec' | 'change' | 'log' | 'dryRun'>, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const r = await ctx.exec('docker', ['network', 'inspect', '--format', '{{.Driver}} {{.Scope}}', name], { nothrow: true })
    if (r.exitCode === 0) {
      const [driver, scope] = r.stdout.trim().split(' ')
      if (scope === 'swarm') continue
      throw new UsageError(`network ${name} exists as a ${driver} network of this engine only (scope ${scope}): the swarm needs it as an overlay`, {
        hint: `it was made by the compose engine: stop that installation (npx zx tasks/down.ts --engine compose), remove it (docker network rm ${name}), then up again`,
      })
    }
    await ctx.change('docker', ['network', 'create', '--driver', 'overlay', '--attachable', '--label', `${MANAGED_LABEL}=1`, name])
    ctx.log.info(`network ${name} ${ctx.dryRun ? 'would be ' : ''}created (overlay, attachable)`)
  }
}

/** removes the shared network when Stackyard made it and nothing is attached (Docker refuses otherwise: said, not fatal) */
export async function removeSharedNetwork(ctx: Pick<StackCtx, 'exec' | 'change' | 'log' | 'dryRun'>, name: string, o: { attempts: number } = { attempts: 20 }): Promise<void> {
  const r = await ctx.exec('docker', ['network', 'inspect', '--format', `{{index .Labels "${MANAGED_LABEL}"}}`, name], { nothrow: true })
  if (r.exitCode !== 0 || r.stdout.trim() !== '1') return
  // the swarm lets go of a removed stack's endpoints a few seconds after its containers are gone
  for (let attempt = 1; ; attempt++) {
    const rm = await ctx.change('docker', ['network', 'rm', name], { nothrow: true })
    if (rm.exitCode === 0) return ctx.log.info(`network ${name} ${ctx.dryRun ? 'would be ' : ''}removed`)
    const why = rm.stderr.trim().split('\n').find((l) => l.startsWith('Error')) ?? rm.stderr.trim()
    if (attempt >= o.attempts || !/in use by task/.test(why)) return ctx.log.warn(`network ${name} kept: ${why}`)
    await new Promise((r) => setTimeout(r, 1000))
  }
}
