// Start the platform: preflight (docker, compose, GPU profile, local ports, networks), the secret layer (Infisical
// export or .env alone, said visibly), the generated inputs (derived env, proxy ports, caddy/Caddyfile), then each
// stack as one compose project in dependency order with `up --wait` (under --engine swarm: one `docker stack deploy`
// per stack, waited on until healthy). Re-running converges; --dry-run changes nothing (and prints swarm stack files).
// Usage: npx zx tasks/up.ts [--stack NAME|all]… [--profile P] [--environment E] [--skip-infisical] [--timeout S] [--dry-run] [--json]
import { runEngine, stackFlag, task } from '../lib/task/task.ts'
import { ENVIRONMENTS, HARDWARE_PROFILES } from '../lib/model/x-fields.ts'
import { renderUpReport, up, upFailure } from '../lib/stacks/up.ts'
import { swarmUp } from '../lib/swarm/up.ts'

export default await task({
  summary: 'Start the stacks (dependencies first, healthy before dependants)',
  docker: true,
  swarm: true,
  flags: {
    stack: stackFlag('stacks to start (with the stacks they come after); default all'),
    profile: { type: 'string', choices: HARDWARE_PROFILES, help: 'hardware profile for this run (default STACKYARD_PROFILE)' },
    environment: { type: 'string', choices: ENVIRONMENTS, help: 'environment for this run (default STACKYARD_ENVIRONMENT)' },
    'skip-infisical': { type: 'boolean', help: 'use .env alone, not the Infisical export (warned)' },
    timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'how long each stack may take to become healthy' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/up.ts', 'npx zx tasks/up.ts --stack apps --dry-run', 'npx zx tasks/up.ts --profile gpu-nvidia'],
  async run(ctx) {
    const report = await (runEngine(ctx) === 'swarm' ? swarmUp : up)(ctx, {
      stacks: ctx.flags.stack.length ? ctx.flags.stack : ['all'],
      environment: ctx.flags.environment,
      profile: ctx.flags.profile,
      skipInfisical: ctx.flags.skipInfisical ?? false,
      timeout: ctx.flags.timeout,
    })
    const failure = upFailure(report)
    if (ctx.json) {
      ctx.out(report)
      if (failure) ctx.log.error(failure.message)
      return failure ? 1 : 0
    }
    ctx.out(renderUpReport(report))
    if (failure) throw failure
  },
}, import.meta)
