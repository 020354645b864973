// Run any `docker compose` subcommand for one stack with exactly what Stackyard gives Compose: the stack's files (and
// the environment's override, and the generated proxy ports), the env layers in order (the derived URLs included,
// also before the first `up`), and the profiles `up` would switch on (--all-profiles: every profile the stack
// declares). For one-off work by hand; the output passes the same masking as every other output. Changes whatever
// the subcommand changes.
// Usage: npx zx tasks/compose.ts STACK [--environment E] [--profile P] [--all-profiles] -- SUBCOMMAND [ARG…]
import { task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { ENVIRONMENTS, HARDWARE_PROFILES } from '../lib/model/x-fields.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { redact } from '../lib/core/redact.ts'

export default await task({
  summary: 'Run a docker compose subcommand for a stack with Stackyard\'s files, env layers and profiles',
  docker: true,
  args: [
    { name: 'stack', help: 'the stack (name or folder)', required: true },
    { name: 'command', help: 'the compose subcommand and its arguments, after --', variadic: true },
  ],
  flags: {
    environment: { type: 'string', choices: ENVIRONMENTS, help: 'environment for this run (default STACKYARD_ENVIRONMENT)' },
    profile: { type: 'string', choices: HARDWARE_PROFILES, help: 'hardware profile for this run (default STACKYARD_PROFILE)' },
    'all-profiles': { type: 'boolean', help: 'pass every profile the stack declares (as down and status do), not only the active ones' },
  },
  examples: ['npx zx tasks/compose.ts data -- ps', 'npx zx tasks/compose.ts data -- exec postgres psql -U postgres', 'npx zx tasks/compose.ts apps --environment public -- config --quiet'],
  async run(ctx) {
    const command = [ctx.args.command ?? []].flat()
    if (!command.length) throw new UsageError('no compose subcommand given', { hint: 'put it after --, e.g. npx zx tasks/compose.ts data -- ps' })
    const p = loadPlatform(ctx, { environment: ctx.flags.environment, profile: ctx.flags.profile, profiles: ctx.flags.allProfiles ? 'declared' : 'active', generating: false })
    const stack = p.registry.stack(String(ctx.args.stack))
    const r = await p.run(ctx.exec, stack, command, { passthrough: redact })
    return r.exitCode
  },
}, import.meta)
