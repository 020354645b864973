// Stop the platform: each stack's containers, in reverse dependency order, including services behind any profile.
// Volumes (the data) are kept unless --volumes, which asks for confirmation (or --yes). Under --engine swarm:
// docker stack rm per stack and the Docker secrets Stackyard made (no --volumes yet).
// Usage: npx zx tasks/down.ts [--stack NAME]… [--volumes] [--yes] [--dry-run]
import { stackFlag, task } from '../lib/task/task.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { down } from '../lib/stacks/down.ts'
import { swarmDown } from '../lib/swarm/down.ts'
import { stacksNamed } from '../lib/model/routes.ts'

export default await task({
  summary: 'Stop the stacks (dependants first); keep the data unless --volumes',
  docker: true,
  swarm: true,
  flags: {
    stack: stackFlag('stacks to stop (only these); default all'),
    volumes: { type: 'boolean', help: 'also delete the stacks\' volumes: ALL THEIR DATA (asks for confirmation)' },
  },
  dryRun: true,
  yes: true,
  examples: ['npx zx tasks/down.ts', 'npx zx tasks/down.ts --stack apps', 'npx zx tasks/down.ts --volumes --yes'],
  async run(ctx) {
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
    const stacks = stacksNamed(p.registry, p.settings, ctx.flags.stack, 'declared')
    if (ctx.flags.volumes && !ctx.dryRun && ctx.settings.engine !== 'swarm') await ctx.confirm(`Delete the volumes of ${stacks.map((s) => s.name).join(', ')}? Their data is gone for good.`)
    await (ctx.settings.engine === 'swarm' ? swarmDown : down)(ctx, p, stacks, { volumes: ctx.flags.volumes ?? false })
  },
}, import.meta)
