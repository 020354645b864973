// Pull newer images without restarting anything and report which services' images changed (running → pulled).
// --apply recreates only those services and waits for health, after recording the images that ran before in
// .stackyard/image-history.json; --rollback brings those back (re-tag, recreate).
// Usage: npx zx tasks/update.ts [--stack NAME]… [--apply | --rollback] [--timeout S] [--dry-run] [--json]
import { stackFlag, task } from '../lib/task.ts'
import { UsageError } from '../lib/errors.ts'
import { checkDocker } from '../lib/preflight.ts'
import { loadPlatform } from '../lib/platform.ts'
import { stacksNamed } from '../lib/routes.ts'
import { applyChanges, pullStack, renderChanges, rollback, type ImageChange } from '../lib/update.ts'

await task({
  summary: 'Pull newer images and report changes; --apply recreates changed services; --rollback undoes the last apply',
  docker: true,
  flags: {
    stack: stackFlag('stacks to update; default the stacks this host runs'),
    apply: { type: 'boolean', help: 'recreate the services whose image changed (waits for health)' },
    rollback: { type: 'boolean', help: 'bring back the images that ran before the last --apply' },
    timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'how long a recreated service may take to become healthy' },
  },
  dryRun: true,
  json: true,
  async run(ctx) {
    if (ctx.flags.apply && ctx.flags.rollback) throw new UsageError('--apply and --rollback exclude each other')
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'active', generating: false })
    // default: the stacks this host runs (STACKYARD_STACKS, or its STACKYARD_HOST_<NAME>_STACKS with --context)
    const stacks = stacksNamed(p.registry, p.settings, ctx.flags.stack, 'selected')
    if (ctx.flags.rollback) {
      const entry = await rollback(ctx, p, stacks, ctx.flags.timeout)
      if (!entry) ctx.log.info('nothing to roll back: no applied update is recorded')
      if (ctx.json) ctx.out({ rolledBack: entry ?? null })
      return
    }
    const changes: ImageChange[] = []
    for (const stack of stacks) {
      ctx.log.step(`${stack.name}: pulling`)
      changes.push(...(await pullStack(ctx, p, stack)))
    }
    if (ctx.json) ctx.out({ changes })
    else ctx.out(renderChanges(changes, ctx.dryRun))
    const changed = changes.filter((c) => c.status === 'changed')
    if (!ctx.flags.apply) {
      if (changed.length) ctx.log.info(`apply with: npx zx tasks/update.ts --apply${ctx.flags.stack.length ? ctx.flags.stack.map((s) => ` --stack ${s}`).join('') : ''}`)
      return
    }
    await applyChanges(ctx, p, changes, ctx.flags.timeout)
    if (!changed.length) ctx.log.success('every service already runs its newest image')
  },
})
