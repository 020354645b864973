// Generate the declared secrets that are missing (x-secrets in compose files) into .env, mode 0600.
// Existing values are never changed unless --rotate KEY asks for it (derived JWTs are re-signed when
// their source changes). `list` shows every declared secret and its state, masked.
// Usage: npx zx tasks/secrets.ts [generate|list] [--rotate KEY] [--dry-run] [--json]
import { task } from '../lib/task.ts'
import { planSecrets } from '../lib/secrets.ts'
import { renderSecretPlan } from '../lib/secrets-report.ts'

await task({
  summary: 'Generate missing secrets into .env (never touching existing ones)',
  args: [{ name: 'action', help: 'generate: create what is missing; list: show state only', choices: ['generate', 'list'] }],
  flags: {
    rotate: { type: 'strings', placeholder: 'KEY', help: 'replace this secret with a new value (and re-sign what derives from it)' },
  },
  dryRun: true,
  json: true,
  async run(ctx) {
    const action = ctx.args.action ?? 'generate'
    const plan = planSecrets(ctx.registry.secrets.values(), ctx.env.files, { rotate: ctx.flags.rotate })
    const write = action === 'generate' && Object.keys(plan.changes).length > 0
    if (ctx.json) ctx.out({ items: plan.items, write: write && !ctx.dryRun })
    else ctx.out(renderSecretPlan(plan.items, action === 'list'))
    if (write) {
      const r = await ctx.editEnv('.env', plan.changes, { mode: 0o600 })
      if (!ctx.dryRun) ctx.log.success(`.env: ${r.added.length} added, ${r.changed.length} replaced (backup in .env.bak)`)
    } else if (action === 'generate') ctx.log.success('nothing to generate: every declared secret exists')
    const asks = plan.items.filter((i) => i.action === 'ask')
    if (asks.length) ctx.log.warn(`set in .env: ${asks.map((i) => i.key).join(', ')} (supplied by you, not generated)`)
  },
})
