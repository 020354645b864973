// Show the swarm's nodes, their host labels (io.stackyard.host) and the labels the host settings call for
// (STACKYARD_HOST_<NAME>_STACKS, _NODE); --apply makes the nodes carry them (docker node update). Converges: nothing
// to change, nothing done. Without --apply (or with --dry-run) it changes nothing.
// Usage: npx zx tasks/nodes.ts [--apply] [--dry-run] [--json]
import { task } from '../lib/task/task.ts'
import { ConfigError } from '../lib/core/errors.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { stacksNamed } from '../lib/model/routes.ts'
import { requireManager } from '../lib/swarm/state.ts'
import { hostAssignment, pinnedServices } from '../lib/swarm/placement.ts'
import { labelArgs, nodeName, planLabels, readNodes } from '../lib/swarm/nodes.ts'
import { renderNodes } from '../lib/swarm/placement-report.ts'

export default await task({
  summary: 'Show the swarm nodes and their host labels; --apply labels the nodes the host settings name',
  docker: true,
  swarm: true,
  json: true,
  dryRun: true,
  flags: {
    apply: { type: 'boolean', help: 'run docker node update for the label changes shown (default: show them only)' },
  },
  examples: ['npx zx tasks/nodes.ts', 'npx zx tasks/nodes.ts --apply'],
  async run(ctx) {
    await checkDocker(ctx)
    await requireManager(ctx.exec)
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
    const hosts = hostAssignment(p.compose.layers.values, p.registry)
    const nodes = await readNodes(ctx.exec)
    const plan = planLabels(nodes, hosts)
    const pinned = pinnedServices(stacksNamed(p.registry, p.settings, [], 'selected'), hosts)
    if (ctx.json)
      ctx.out({
        nodes,
        hosts: plan.hosts.map((h) => ({ host: h.host, stacks: [...hosts.stacks].filter(([, x]) => x === h.host).map(([s]) => s), node: h.node?.id, why: h.why })),
        pinned,
        changes: plan.changes.map((c) => ({ node: c.node.id, hostname: c.node.hostname, ...(c.add ? { add: c.add } : { remove: true }), because: c.because })),
        problems: plan.problems,
      })
    else ctx.out(renderNodes(nodes, hosts, plan, pinned))
    if (plan.problems.length)
      throw new ConfigError(`the host settings name nodes this swarm does not have: ${plan.problems.join('; ')}`, { hint: 'docker node ls lists the nodes; set STACKYARD_HOST_<NAME>_NODE=<hostname or ID>, or join the machine (README "Engines: compose or swarm")' })
    if (!plan.changes.length) return 0
    if (!ctx.flags.apply) {
      ctx.log.info(`${plan.changes.length} label change(s) to make: npx zx tasks/nodes.ts --apply`)
      return 0
    }
    for (const c of plan.changes) {
      await ctx.change('docker', labelArgs(c))
      ctx.log.success(`${nodeName(c.node)}: ${c.add ? `labelled io.stackyard.host=${c.add}` : 'io.stackyard.host removed'}${ctx.dryRun ? ' (dry run: not done)' : ''}`)
    }
    return 0
  },
}, import.meta)
