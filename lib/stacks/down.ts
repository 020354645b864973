// `down`: stops stacks in reverse order (a stack stops after every stack that depends on it), one at a time, with every
// profile the stack declares so profiled services stop too (a `down` without --profile leaves them
// running). Volumes are kept unless asked. Changes go through the context (dry-run aware).
import { FailureError } from '../core/errors.ts'
import { downCommand } from '../docker/compose.ts'
import { duration, plural } from '../core/format.ts'
import type { Stack } from '../model/registry.ts'
import { reversed, runGraph } from '../core/orchestrate.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'

export async function down(ctx: StackCtx, p: Platform, stacks: readonly Stack[], o: { volumes: boolean }): Promise<void> {
  const names = new Set(stacks.map((s) => s.name))
  // a stack stopped under a dependant that keeps running: say so (the dependant loses what it needs)
  for (const dependant of p.registry.stacks.filter((s) => !names.has(s.name))) {
    const needs = dependant.after.filter((a) => names.has(a))
    if (needs.length) ctx.log.warn(`${dependant.name} depends on ${needs.join(' and ')} and is not being stopped: if it runs, it loses ${needs.length > 1 ? 'them' : 'it'} (add --stack ${dependant.name} to stop it too)`)
  }
  // one at a time, highest number first: a stack may lean on lower ones without declaring it (the shared network,
  // the proxy), and stopping is quick; declared dependants still always stop first
  const order = [...stacks].sort((a, b) => b.order - a.order || b.name.localeCompare(a.name))
  const results = await runGraph(
    reversed(order.map((s) => ({ id: s.name, after: s.after.filter((a) => names.has(a)) }))),
    async (name) => {
      const stack = p.registry.stack(name)
      ctx.log.step(`${name}: stopping${o.volumes ? ' and deleting its volumes' : ''}`)
      const r = await p.run(ctx.change, stack, downCommand({ volumes: o.volumes }))
      if (r.exitCode !== 0) throw new Error(r.stderr.trim().split('\n').slice(-6).join('\n') || `exit ${r.exitCode}`)
    },
    { concurrency: 1, onSkip: (id, because) => ctx.log.warn(`${id}: left running (${because}: a stack it serves is still up)`) },
  )
  const failed = results.filter((r) => r.status === 'failed')
  for (const r of results) {
    if (r.status === 'ok' && !ctx.dryRun) ctx.log.success(`${r.id}: stopped (${duration(r.ms)})`)
    if (r.status === 'failed') ctx.log.error(`${r.id}: ${(r.error as Error).message}`)
  }
  if (failed.length) throw new FailureError(`${plural(failed.length, 'stack')} did not stop: ${failed.map((f) => f.id).join(', ')}`, { hint: 'see the errors above; docker compose ls shows what runs' })
}
