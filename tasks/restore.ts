// Restore a backup archive: verify every checksum and every name first (a changed, corrupt or foreign archive, or a
// secret file that would not parse, is refused, exit 2, nothing touched), show what will be replaced, ask (or --yes),
// unpack what is restored, write the secret files it holds, stop the affected stacks,
// restore them in dependency order (data stores before their consumers), start them and wait for health (up). Under
// --engine swarm the affected stacks' services are scaled to 0 instead of stopped, and up deploys them back.
// Changes: .env/.env.infisical (previous kept as .bak), containers, volumes and databases of the restored stacks.
// Usage: npx zx tasks/restore.ts ARCHIVE [--stack NAME]… [--no-secrets] [--yes] [--context NAME] [--dry-run] [--json]
import { resolve } from 'node:path'
import { runEngine, stackFlag, task } from '../lib/task/task.ts'
import { helperImage } from '../lib/backup/methods.ts'
import { backupPassphrase } from '../lib/backup/inputs.ts'
import { checkSecretFiles, checkStartable, closeBackup, openBackup, planRestore, renderPlan, runRestore } from '../lib/backup/restore.ts'
import { upFailure } from '../lib/stacks/up.ts'
import { plural } from '../lib/core/format.ts'
import { scope } from '../lib/core/scope.ts'

export default await task({
  summary: 'Restore a backup archive (verified first), then start the stacks and wait for health',
  docker: true,
  swarm: true,
  args: [{ name: 'archive', required: true, help: 'the archive (backups/stackyard-backup-….tar.gz[.enc])' }],
  flags: {
    stack: stackFlag('restore only these stacks of the archive; default all it holds'),
    secrets: { type: 'boolean', default: true, help: 'write the .env/.env.infisical the archive holds (--no-secrets keeps the current ones)' },
    timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'how long each stack may take to become healthy' },
    'skip-infisical': { type: 'boolean', help: 'start with .env alone, not the Infisical export' },
  },
  dryRun: true,
  json: true,
  yes: true,
  examples: ['npx zx tasks/restore.ts backups/stackyard-backup-20260101T030000Z.tar.gz --dry-run', 'npx zx tasks/restore.ts backups/….tar.gz.enc --stack data --yes'],
  async run(ctx) {
    const archive = resolve(scope().cwd, String(ctx.args.archive)) // as given: against the run's working folder
    const opened = await openBackup(archive, () => backupPassphrase(ctx, { confirm: false }))
    try {
      ctx.log.success(`${ctx.rel(archive)}: ${opened.verified} files verified (sha256)${opened.encrypted ? ', decrypted and authenticated' : ''}`)
      const plan = planRestore(ctx.registry, opened.manifest, ctx.flags.stack.includes('all') ? [] : ctx.flags.stack, { secrets: ctx.flags.secrets })
      const texts = checkSecretFiles(ctx.root, plan, opened)
      checkStartable(ctx.root, ctx.registry, plan, opened, texts, !ctx.flags.secrets)
      ctx.log.info(renderPlan(plan, opened.manifest, ctx.root))
      if (!ctx.dryRun) await ctx.confirm(`Replace the data listed above with the backup of ${opened.manifest.createdAt}?`, { typed: 'restore' })
      const report = await runRestore(ctx, opened, plan, { timeout: ctx.flags.timeout, skipInfisical: ctx.flags.skipInfisical ?? false, helperImage: helperImage(ctx.env), engine: runEngine(ctx) })
      const failure = upFailure(report.up)
      if (ctx.json) ctx.out({ archive, restored: report.restored, secrets: report.secrets, stopped: report.stopped, stacks: report.up.stacks, dryRun: ctx.dryRun })
      if (failure) throw failure
      if (!ctx.dryRun) ctx.log.success(`restored ${plural(report.restored.length, 'file')}; ${report.up.stacks.map((s) => s.stack).join(', ')} up and healthy`)
    } finally {
      await closeBackup(opened)
    }
  },
}, import.meta)
