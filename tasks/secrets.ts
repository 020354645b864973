// Generate the declared secrets that are missing (x-secrets in compose files) into .env, mode 0600.
// Existing values are never changed unless --rotate KEY asks for it (derived JWTs are re-signed when
// their source changes). A rotated secret that running services use is changed in the service first
// (a PostgreSQL role's password), then in .env, then those services are recreated and the live check
// proves it; any failure puts the old value back everywhere (exit 1). Keys that encrypt stored data are
// refused (exit 2). `list` shows every declared secret and its state, masked. Under swarm the services are reached in
// their running tasks and the stack is deployed again (a new Docker secret, the services rolled to it).
// Usage: npx zx tasks/secrets.ts [generate|list] [--rotate KEY] [--timeout S] [--dry-run] [--json]
import { task } from '../lib/task/task.ts'
import { planSecrets } from '../lib/model/secrets.ts'
import { renderSecretPlan } from '../lib/model/secrets-report.ts'
import { prepareRotation, renderRotationPlan } from '../lib/stacks/secret-rotation.ts'
import { swarmRotationReach } from '../lib/swarm/rotation.ts'

export default await task({
  summary: 'Generate missing secrets into .env (never touching existing ones)',
  args: [{ name: 'action', help: 'generate: create what is missing; list: show state only', choices: ['generate', 'list'] }],
  flags: {
    rotate: { type: 'strings', placeholder: 'KEY', help: 'replace this secret with a new value (and re-sign what derives from it); done in the running services too' },
    timeout: { type: 'number', integer: true, min: 1, default: 300, placeholder: 'SECONDS', help: 'how long the services recreated by a rotation may take to become healthy' },
  },
  dryRun: true,
  json: true,
  docker: true,
  swarm: true,
  examples: ['npx zx tasks/secrets.ts generate', 'npx zx tasks/secrets.ts generate --rotate N8N_DB_PASSWORD --dry-run'],
  async run(ctx) {
    const action = ctx.args.action ?? 'generate'
    const plan = planSecrets(ctx.registry.secrets.values(), ctx.env.files, { rotate: ctx.flags.rotate })
    const write = action === 'generate' && Object.keys(plan.changes).length > 0
    const rotation = write && ctx.flags.rotate.length ? await prepareRotation(ctx, plan.changes, ctx.settings.engine === 'swarm' ? await swarmRotationReach(ctx) : undefined) : undefined
    if (ctx.json) ctx.out({ items: plan.items, write: write && !ctx.dryRun, ...(rotation ? { rotation: rotation.plan } : {}) })
    else ctx.out([renderSecretPlan(plan.items, action === 'list'), ...(rotation ? renderRotationPlan(rotation.plan) : [])].join('\n'))
    for (const w of rotation?.plan.warnings ?? []) ctx.log.warn(w)
    if (rotation?.plan.inPlace) {
      const r = await rotation.apply({ timeout: ctx.flags.timeout })
      if (!ctx.dryRun) ctx.log.success(`rotated ${rotation.plan.keys.join(', ')}:\n${r.done.map((d) => `  ${d}`).join('\n')}`)
    } else if (write) {
      const r = await ctx.editEnv('.env', plan.changes, { mode: 0o600 })
      if (!ctx.dryRun) ctx.log.success(`.env: ${r.added.length} added, ${r.changed.length} replaced (backup in .env.bak)`)
    } else if (action === 'generate') ctx.log.success('nothing to generate: every declared secret exists')
    const asks = plan.items.filter((i) => i.action === 'ask')
    if (asks.length) ctx.log.warn(`set in .env: ${asks.map((i) => i.key).join(', ')} (supplied by you, not generated)`)
  },
}, import.meta)
