// The proxy's config, derived from the registry: `render` writes caddy/Caddyfile from the x-route declarations (only
// when it changed; `up` does it too), `validate` checks it with the local caddy and inside the running container,
// `reload` loads it into the running container without a restart.
// Usage: npx zx tasks/00-infrastructure/caddy.ts render|validate|reload [--print] [--environment E] [--profile P] [--dry-run]
import { task } from '../../lib/task/task.ts'
import { FailureError } from '../../lib/core/errors.ts'
import { ENVIRONMENTS, HARDWARE_PROFILES } from '../../lib/model/x-fields.ts'
import { loadPlatform } from '../../lib/docker/platform.ts'
import { caddyTask } from '../../lib/caddy/proxy.ts'

export default await task({
  summary: 'Render, validate or reload the Caddy config derived from the routes',
  docker: true,
  args: [{ name: 'action', help: 'render: write caddy/Caddyfile; validate: check it; reload: load it into the running proxy', choices: ['render', 'validate', 'reload'], required: true }],
  flags: {
    print: { type: 'boolean', help: 'render: print the config on stdout instead of writing it' },
    environment: { type: 'string', choices: ENVIRONMENTS, help: 'render for this environment (default STACKYARD_ENVIRONMENT)' },
    profile: { type: 'string', choices: HARDWARE_PROFILES, help: 'render for this hardware profile (default STACKYARD_PROFILE)' },
  },
  dryRun: true,
  async run(ctx) {
    const p = loadPlatform(ctx, { environment: ctx.flags.environment, profile: ctx.flags.profile, profiles: 'active', generating: false })
    if (!p.registry.proxy) throw new FailureError('no service is marked x-proxy: true', { hint: 'mark the Caddy service with x-proxy: true in its compose file' })
    return caddyTask(ctx, p, String(ctx.args.action), { print: ctx.flags.print ?? false })
  },
}, import.meta)
