// Push .env secrets to Infisical. Plans first (create / update / unchanged / only in Infisical), shows the plan
// without values, then writes in batches: one POST, one PATCH (and one DELETE with --prune), 100 keys per request.
// Values the server would alter (surrounding whitespace) stop the push before anything is written. Keys changed in
// Infisical since the last sync are kept unless --force. Changes: secrets in Infisical; .stackyard/infisical-sync.json.
// Usage: npx zx tasks/00-infrastructure/infisical/push.ts [--prune] [--force] [--allow-trim] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { pushSecrets } from '../../../lib/infisical/tasks.ts'
import { keptLines, renderPushPlan } from '../../../lib/infisical/report.ts'

export default await task({
  summary: 'Push .env secrets to Infisical (batched, planned, idempotent)',
  flags: {
    prune: { type: 'boolean', help: 'delete keys that exist only in Infisical (never done without this flag)' },
    force: { type: 'boolean', help: 'also overwrite keys changed in Infisical since the last sync' },
    'allow-trim': { type: 'boolean', help: 'push values with surrounding whitespace anyway (Infisical stores them trimmed)' },
    all: { type: 'boolean', help: 'list unchanged keys too' },
  },
  dryRun: true,
  json: true,
  async run(ctx) {
    const { session: s, plan, result, kept, references } = await pushSecrets(ctx, {
      prune: ctx.flags.prune,
      force: ctx.flags.force,
      allowTrim: ctx.flags.allowTrim,
      progress: (what) => ctx.log.step(what),
      onPlan: (p) => {
        const table = renderPushPlan(p.items, { showUnchanged: ctx.flags.all })
        if (!ctx.json && table) ctx.out(table)
      },
    })
    for (const k of references) ctx.log.warn(`${k} contains \${…}: Infisical treats it as a secret reference, and the export for containers expands it (a literal \${…} would become another secret's value or empty)`)
    const counts = { create: plan.creates.length, update: plan.updates.length, delete: plan.deletes.length, unchanged: plan.items.filter((i) => i.action === 'unchanged').length, onlyInInfisical: plan.items.filter((i) => i.action === 'remote-only').length, kept: kept.length }
    if (ctx.json) ctx.out({ scope: s.scope, plan: plan.items, counts, requests: result.requests, pending: result.pending, dryRun: ctx.dryRun })
    const writes = counts.create + counts.update + counts.delete
    if (result.pending) ctx.log.warn(`${writes} change(s) are pending approval in Infisical: nothing is applied until someone approves them`)
    else if (ctx.dryRun) ctx.log.info(`dry run: ${writes} change(s) planned, nothing sent`)
    else ctx.log.success(writes ? `pushed: ${counts.create} created, ${counts.update} updated, ${counts.delete} deleted in ${result.requests} request(s)` : `Infisical already matches .env (${counts.unchanged} key(s) unchanged)`)
    if (counts.onlyInInfisical && !ctx.flags.prune) ctx.log.info(`${counts.onlyInInfisical} key(s) exist only in Infisical (kept; --prune deletes them, pull copies them)`)
    if (kept.length) {
      for (const line of keptLines('push', plan.items)) ctx.log.warn(line)
      return 1
    }
  },
}, import.meta)
