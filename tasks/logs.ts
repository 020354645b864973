// Show a stack's logs (all its services, or the ones named), streamed through the same masking as every other
// output (secrets, terminal control sequences); --follow keeps streaming. Under --engine swarm: docker service logs
// of each service (its tasks' lines, on whichever node they run).
// Usage: npx zx tasks/logs.ts --stack NAME [SERVICE…] [--follow] [--since 10m] [--tail N]
import { task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { logsCommand } from '../lib/docker/compose.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { redact } from '../lib/core/redact.ts'
import { stripTerminalCodes } from '../lib/core/format.ts'
import { swarmLogs } from '../lib/swarm/logs.ts'

export default await task({
  summary: 'Show the logs of a stack or of some of its services',
  docker: true,
  swarm: true,
  args: [{ name: 'service', help: 'services of the stack (default: all)', variadic: true }],
  flags: {
    stack: { type: 'string', placeholder: 'NAME', help: 'the stack (required)' },
    follow: { type: 'boolean', short: 'f', help: 'keep streaming new lines' },
    since: { type: 'string', placeholder: 'TIME', help: 'only lines since a time (2024-01-02T15:04:05) or a duration (10m, 2h)' },
    tail: { type: 'number', integer: true, min: 0, placeholder: 'N', help: 'only the last N lines per service' },
  },
  examples: ['npx zx tasks/logs.ts --stack infrastructure caddy --follow', 'npx zx tasks/logs.ts --stack apps --since 10m'],
  async run(ctx) {
    if (!ctx.flags.stack) throw new UsageError('--stack is required', { hint: `stacks: ${ctx.registry.stacks.map((s) => s.name).join(', ')}` })
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
    const stack = p.registry.stack(ctx.flags.stack)
    const services = [ctx.args.service ?? []].flat()
    const unknown = services.filter((s) => !stack.services.some((x) => x.name === s))
    if (unknown.length) throw new UsageError(`${unknown.join(', ')}: not a service of ${stack.name}`, { hint: `its services: ${stack.services.map((s) => s.name).join(', ')}` })
    const filter = (text: string) => redact(stripTerminalCodes(text))
    if (ctx.settings.engine === 'swarm') return swarmLogs(ctx, stack, { services, follow: ctx.flags.follow, since: ctx.flags.since, tail: ctx.flags.tail, filter })
    const r = await p.run(ctx.exec, stack, logsCommand({ services, follow: ctx.flags.follow, since: ctx.flags.since, tail: ctx.flags.tail }), { passthrough: filter })
    return r.exitCode
  },
}, import.meta)
