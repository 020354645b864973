// First run: writes this installation's configuration (.env with every generated secret, mode 0600)
// and checks it with doctor. The guided wizard (questions, Cloudflare, Infisical, start) replaces this
// once it lands; until then this is its non-interactive core.
// Usage: npx zx tasks/setup.ts [--dry-run]
import { task } from '../lib/task.ts'
import { planSecrets } from '../lib/secrets.ts'
import { renderSecretPlan } from '../lib/secrets-report.ts'

await task({
  summary: 'Set up this installation: generate secrets into .env and check the configuration',
  dryRun: true,
  async run(ctx) {
    const plan = planSecrets(ctx.registry.secrets.values(), ctx.env.files)
    ctx.log.step('secrets')
    ctx.out(renderSecretPlan(plan.items, false))
    if (Object.keys(plan.changes).length) await ctx.editEnv('.env', plan.changes, { mode: 0o600 })
    ctx.log.step('next')
    ctx.log.info('npx zx tasks/doctor.ts      check the configuration')
    ctx.log.info('npx zx tasks/env.ts         see the environment Compose will get')
    ctx.log.warn('starting the stacks (tasks/up.ts) and the guided questions are not part of this version yet')
  },
})
