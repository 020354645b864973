// Pull secrets from Infisical. By default writes .env.infisical (the top env layer): atomically, mode 0600, double-
// quoted so Compose reads every value back exactly; references stay as stored unless --expand. With --into .env it
// updates those keys inside .env instead, keeping comments and order, with a backup (.env.bak); keys changed in .env
// since the last sync are kept unless --force. Local-only keys are never deleted from .env.
// Usage: npx zx tasks/00-infrastructure/infisical/pull.ts [--into .env] [--expand] [--force] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { INFISICAL_ENV_FILE, writeExport } from '../../../lib/infisical/sync.ts'
import { planPull, saveSyncState } from '../../../lib/infisical/tasks.ts'
import { keptLines, renderPullPlan } from '../../../lib/infisical/report.ts'
import { plural } from '../../../lib/core/format.ts'

export default await task({
  summary: 'Pull secrets from Infisical into .env.infisical (or into .env)',
  flags: {
    into: { type: 'string', choices: ['.env.infisical', '.env'], default: '.env.infisical', help: 'the file to update' },
    expand: { type: 'boolean', help: 'expand secret references (${KEY}) as the export for containers does' },
    force: { type: 'boolean', help: 'with --into .env: also overwrite keys changed in .env since the last sync' },
  },
  dryRun: true,
  json: true,
  async run(ctx) {
    const intoEnv = ctx.flags.into === '.env'
    const { session: s, remote, rendered, plan, state, warnings } = await planPull(ctx, { intoEnv, expand: Boolean(ctx.flags.expand), force: Boolean(ctx.flags.force) })
    for (const w of warnings) ctx.log.warn(w)
    const table = renderPullPlan(plan.items)
    if (!ctx.json && table) ctx.out(table)
    if (intoEnv) {
      const r = await ctx.editEnv('.env', plan.changes)
      if (!ctx.dryRun) state.settle(Object.fromEntries(plan.settled.map((k) => [k, remote.find((x) => x.key === k)!.value])))
      await saveSyncState(ctx, state)
      if (!ctx.dryRun) ctx.log.success(r.added.length + r.changed.length ? `.env: ${r.added.length} added, ${r.changed.length} updated (previous file in .env.bak)` : '.env already matches Infisical')
    } else if (ctx.dryRun) ctx.skipped(`write ${INFISICAL_ENV_FILE} (mode 0600, ${plural(remote.length, 'key')})`)
    else {
      const { wrote } = await writeExport(ctx.root, s.client.origin, s.scope, rendered!.entries)
      ctx.log.success(`${INFISICAL_ENV_FILE}: ${remote.length} secret(s) ${wrote ? 'written' : 'unchanged'}`)
    }
    const kept = plan.items.filter((i) => i.action === 'local-newer' || i.action === 'conflict').map((i) => i.key)
    if (ctx.json) ctx.out({ scope: s.scope, into: ctx.flags.into, plan: plan.items, kept, dryRun: ctx.dryRun })
    if (kept.length) {
      for (const line of keptLines('pull', plan.items)) ctx.log.warn(line)
      return 1
    }
  },
}, import.meta)
