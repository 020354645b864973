// `down` under the swarm engine: `docker stack rm` per stack (dependants first), a wait until its containers are gone,
// then the Docker secrets and configs Stackyard made for it; the shared overlay goes when every stack is down. Volumes stay
// (--volumes is not built for swarm yet). Changes go through the context (dry-run aware).
import { FailureError, UsageError } from '../core/errors.ts'
import { duration, plural } from '../core/format.ts'
import type { Stack } from '../model/registry.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import type { Runner } from '../core/exec.ts'
import { externalNetworks } from '../docker/stack-plan.ts'
import { requireManager, stackConfigs, stackSecrets, stackServices } from './state.ts'
import { removeSharedNetwork } from './network.ts'

/** containers of a stack still on this engine (stack rm returns before they are gone) */
async function leftovers(exec: Runner, project: string): Promise<number> {
  const r = await exec('docker', ['ps', '--all', '--quiet', '--filter', `label=com.docker.stack.namespace=${project}`])
  return r.stdout.split('\n').filter(Boolean).length
}

export async function swarmDown(ctx: StackCtx, p: Platform, stacks: readonly Stack[], o: { volumes: boolean; timeoutS?: number }): Promise<void> {
  if (o.volumes) throw new UsageError('down --volumes is not built for the swarm engine yet', { hint: 'down without --volumes, then docker volume rm the stackyard-* volumes you mean to delete' })
  await requireManager(ctx.exec)
  const order = [...stacks].sort((a, b) => b.order - a.order || b.name.localeCompare(a.name))
  const failed: string[] = []
  for (const stack of order) {
    const t0 = Date.now()
    const services = await stackServices(ctx.exec, stack.project)
    const secrets = await stackSecrets(ctx.exec, stack.project)
    const configs = await stackConfigs(ctx.exec, stack.project)
    if (!services.length && !secrets.length && !configs.length) continue
    if (services.length) {
      ctx.log.step(`${stack.name}: removing stack ${stack.project} (${plural(services.length, 'service')})`)
      const r = await ctx.change('docker', ['stack', 'rm', stack.project], { nothrow: true })
      if (r.exitCode !== 0) {
        ctx.log.error(`${stack.name}: ${r.stderr.trim().split('\n').pop()}`)
        failed.push(stack.name)
        continue
      }
      if (!ctx.dryRun) {
        const deadline = Date.now() + (o.timeoutS ?? 120) * 1000
        while ((await leftovers(ctx.exec, stack.project)) > 0) {
          if (Date.now() > deadline) throw new FailureError(`${stack.project}: containers still there ${o.timeoutS ?? 120}s after docker stack rm`, { hint: `docker ps -a --filter label=com.docker.stack.namespace=${stack.project}` })
          await new Promise((r) => setTimeout(r, 1000))
        }
      }
    }
    for (const s of secrets) {
      const r = await ctx.change('docker', ['secret', 'rm', s], { nothrow: true })
      if (r.exitCode !== 0) ctx.log.warn(`${stack.name}: secret ${s} kept: ${r.stderr.trim().split('\n').pop()}`)
    }
    for (const c of configs) {
      const r = await ctx.change('docker', ['config', 'rm', c], { nothrow: true })
      if (r.exitCode !== 0) ctx.log.warn(`${stack.name}: config ${c} kept: ${r.stderr.trim().split('\n').pop()}`)
    }
    const made = [secrets.length ? plural(secrets.length, 'secret') : '', configs.length ? plural(configs.length, 'config') : ''].filter(Boolean)
    if (!ctx.dryRun) ctx.log.success(`${stack.name}: removed${made.length ? ` with ${made.join(' and ')}` : ''} (${duration(Date.now() - t0)})`)
  }
  if (failed.length) throw new FailureError(`${plural(failed.length, 'stack')} not removed: ${failed.join(', ')}`, { hint: 'docker stack ls shows what runs' })
  // the shared overlay goes with the last stack
  const everything = p.registry.stacks.every((s) => stacks.includes(s))
  if (everything) for (const n of [...new Set(stacks.flatMap((s) => externalNetworks(ctx.root, s)))]) await removeSharedNetwork(ctx, n)
}
