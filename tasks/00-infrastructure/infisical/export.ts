// Export Infisical's secrets to .env.infisical for containers (references expanded): what `up` runs before starting
// stacks. When Infisical cannot be used it keeps the last good .env.infisical, or falls back to .env alone, and
// says which (exit 1 then, so scripts notice; `up` itself goes on). Changes: .env.infisical (mode 0600).
// Usage: npx zx tasks/00-infrastructure/infisical/export.ts [--skip-infisical] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { exportSecretLayer } from '../../../lib/infisical/export.ts'
import { configValues } from '../../../lib/infisical/config.ts'

export default await task({
  summary: 'Export Infisical secrets to .env.infisical (what up uses), with a visible fallback',
  flags: { 'skip-infisical': { type: 'boolean', help: 'do not consult Infisical: use .env alone' } },
  dryRun: true,
  json: true,
  async run(ctx) {
    const r = await exportSecretLayer({ root: ctx.root, values: configValues(ctx.env), registry: ctx.registry, skip: Boolean(ctx.flags.skipInfisical), dryRun: ctx.dryRun })
    for (const w of r.warnings) ctx.log.warn(w)
    if (r.level === 'warn') ctx.log.warn(r.note)
    else ctx.log.success(r.note)
    if (r.error?.hint) ctx.log.info(`hint: ${r.error.hint}`)
    if (ctx.json) ctx.out({ status: r.status, file: r.file, keys: r.keys ?? [], warnings: r.warnings, error: r.error })
    return r.status === 'kept-last' || r.status === 'env-only' ? 1 : 0
  },
}, import.meta)
