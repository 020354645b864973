// Check that the platform works: every enabled service's Docker health state, plus probes derived from what each
// service is: the proxy's config validates in its container, PostgreSQL is ready, Valkey/Redis answer PING,
// Infisical's /api/status answers through the proxy. Changes nothing. Exit 0 all pass, 1 any fails.
// --all-contexts: the same for every Docker context in STACKYARD_CONTEXTS (each host's assigned stacks).
// Under --engine swarm: each swarm service's replicas and its running containers' health; the probes run in the
// running task's container (on this engine's node).
// Usage: npx zx tasks/health.ts [--stack NAME]… [--context NAME | --all-contexts] [--json]
import { stackFlag, task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { renderHealth, runHealth } from '../lib/stacks/health.ts'
import { hostsReport } from '../lib/stacks/multi-host.ts'
import { renderHostHealth } from '../lib/stacks/multi-host-report.ts'
import { plural } from '../lib/core/format.ts'
import { stacksNamed } from '../lib/model/routes.ts'
import { swarmAccess } from '../lib/swarm/access.ts'
import { requireManager } from '../lib/swarm/state.ts'

export default await task({
  summary: 'Run the health checks (one line per check)',
  docker: true,
  swarm: true,
  flags: {
    stack: stackFlag('stacks to check; default all'),
    'all-contexts': { type: 'boolean', help: 'check every Docker context of STACKYARD_CONTEXTS (each with the stacks assigned to it)' },
  },
  json: true,
  async run(ctx) {
    if (ctx.flags.allContexts && ctx.settings.engine === 'swarm') throw new UsageError('--all-contexts is for compose hosts; a swarm is one engine: health without it checks every node\'s services')
    if (ctx.flags.allContexts) return hostsReport(ctx, { stacks: ctx.flags.stack, key: 'checks', collect: runHealth, render: renderHostHealth })
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
    const stacks = stacksNamed(p.registry, p.settings, ctx.flags.stack, 'declared')
    if (ctx.settings.engine === 'swarm') await requireManager(ctx.exec)
    const results = await runHealth(ctx, p, stacks, ctx.settings.engine === 'swarm' ? swarmAccess(ctx, p) : undefined)
    const failed = results.filter((r) => !r.ok)
    if (ctx.json) ctx.out({ ok: failed.length === 0, checks: results })
    else ctx.out(renderHealth(results))
    if (failed.length) ctx.log.error(`${failed.length} of ${plural(results.length, 'check')} failed`)
    return failed.length ? 1 : 0
  },
}, import.meta)
