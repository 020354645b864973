// Show each stack's services: state, health, uptime, image and route. Changes nothing.
// Exit 0 when every service the active profiles enable is running and healthy, 1 otherwise.
// Under --engine swarm: each swarm service's running/desired replicas (healthy before running).
// --all-contexts: the same for every Docker context in STACKYARD_CONTEXTS (each host's assigned stacks).
// Usage: npx zx tasks/status.ts [--stack NAME]… [--context NAME | --all-contexts] [--json]
import { stackFlag, task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { collectStatus, renderStatus } from '../lib/stacks/status.ts'
import { swarmStatus } from '../lib/swarm/status.ts'
import { hostsReport } from '../lib/stacks/multi-host.ts'
import { renderHostStatus } from '../lib/stacks/multi-host-report.ts'
import { stacksNamed } from '../lib/model/routes.ts'

export default await task({
  summary: 'Show the state, health, uptime, image and route of every service',
  docker: true,
  swarm: true,
  flags: {
    stack: stackFlag('stacks to show; default all'),
    'all-contexts': { type: 'boolean', help: 'report every Docker context of STACKYARD_CONTEXTS (each with the stacks assigned to it)' },
  },
  json: true,
  async run(ctx) {
    if (ctx.flags.allContexts && ctx.settings.engine === 'swarm') throw new UsageError('--all-contexts is for compose hosts; a swarm is one engine: status without it shows every node\'s services')
    if (ctx.flags.allContexts) return hostsReport(ctx, { stacks: ctx.flags.stack, key: 'services', collect: collectStatus, render: renderHostStatus })
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
    const stacks = stacksNamed(p.registry, p.settings, ctx.flags.stack, 'declared')
    const rows = await (ctx.settings.engine === 'swarm' ? swarmStatus : collectStatus)(ctx, p, stacks)
    const bad = rows.filter((r) => !r.ok)
    if (ctx.json) ctx.out({ ok: bad.length === 0, environment: p.settings.environment, services: rows })
    else ctx.out(renderStatus(rows))
    if (bad.length) ctx.log.error(`not running or not healthy: ${bad.map((r) => `${r.stack}/${r.service} (${r.health || r.state})`).join(', ')}`)
    return bad.length ? 1 : 0
  },
}, import.meta)
