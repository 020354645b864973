// Back up every stateful service, as its x-backup declares (pg_dump for PostgreSQL, an RDB snapshot for
// Valkey/Redis, a tar of the named volumes for the rest), into one timestamped archive with a manifest (sizes,
// sha256, images). Secret files (.env, .env.infisical) only with --include-secrets; --encrypt uses a passphrase from
// STACKYARD_BACKUP_PASSPHRASE or a prompt. Archives are mode 0600; each is recorded in .stackyard/backups.json.
// Under --engine swarm the dumps run in each stateful service's running task (on several nodes: against the node that
// runs it). --verify [ARCHIVE] runs a restore drill instead (lib/backup/restore-drill.ts): exit 0 passed, 1 failed, 2 unusable archive.
// Changes: the backup folder and the journal; --verify: throwaway projects it removes, and the journal.
// Usage: npx zx tasks/backup.ts [--stack NAME]… [--out DIR] [--keep N] [--include-secrets] [--encrypt] [--context NAME] [--dry-run] [--json]
//        npx zx tasks/backup.ts --verify [ARCHIVE] [--out DIR] [--timeout SECONDS] [--context NAME] [--json]
import { resolve } from 'node:path'
import { runEngine, stackFlag, task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { requireOutputDirectory } from '../lib/core/path-kind.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { backup } from '../lib/backup/backup.ts'
import { backupPassphrase, PASSPHRASE_VARIABLE } from '../lib/backup/inputs.ts'
import { verifyArchive } from '../lib/backup/drill-task.ts'

export default await task({
  summary: 'Back up the stateful services into one archive with a manifest and checksums',
  docker: true,
  swarm: true,
  args: [{ name: 'archive', help: 'with --verify: the archive to drill (default: the newest in --out)' }],
  flags: {
    verify: { type: 'boolean', help: 'restore drill: restore ARCHIVE (or the newest) into throwaway projects, probe every service, remove it all; exit 0 passed, 1 failed' },
    timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'with --verify: how long each service may take to become healthy' },
    stack: stackFlag('back up only these stacks; default every stack this host runs'),
    out: { type: 'string', placeholder: 'DIR', default: 'backups', help: 'folder for the archive' },
    keep: { type: 'number', integer: true, min: 1, placeholder: 'N', help: 'then keep only the newest N archives of this kind (same context and --stack)' },
    'include-secrets': { type: 'boolean', help: 'also .env and .env.infisical (needed to restore onto a fresh machine)' },
    encrypt: { type: 'boolean', help: `encrypt with AES-256-GCM; passphrase from ${PASSPHRASE_VARIABLE} or a prompt` },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/backup.ts --include-secrets --encrypt --keep 7', 'npx zx tasks/backup.ts --verify', 'npx zx tasks/backup.ts --verify backups/stackyard-backup-20260101T030000Z.tar.gz --json', 'npx zx tasks/backup.ts --stack data --dry-run', 'npx zx tasks/backup.ts --context edge-1'],
  async run(ctx) {
    if (ctx.flags.verify) {
      const f = ctx.flags
      const conflicting = [f.stack.length ? '--stack' : '', f.keep !== undefined ? '--keep' : '', f.includeSecrets ? '--include-secrets' : '', f.encrypt ? '--encrypt' : ''].filter(Boolean)
      return verifyArchive(ctx, { archive: ctx.args.archive as string | undefined, outDir: resolve(ctx.root, f.out), timeout: f.timeout, conflicting })
    }
    if (ctx.args.archive !== undefined) throw new UsageError(`an archive (${ctx.args.archive}) is only taken with --verify`, { hint: 'npx zx tasks/backup.ts --verify ARCHIVE' })
    if (!ctx.flags.encrypt && ctx.env.lookup(PASSPHRASE_VARIABLE) !== undefined) ctx.log.info(`${PASSPHRASE_VARIABLE} is set, but the archive is encrypted only with --encrypt`)
    const outDir = resolve(ctx.root, ctx.flags.out)
    requireOutputDirectory(outDir, ctx.flags.out, '--out')
    const passphrase = ctx.flags.encrypt ? await backupPassphrase(ctx, { confirm: true }) : undefined
    await checkDocker(ctx)
    const report = await backup(ctx, {
      stacks: ctx.flags.stack.includes('all') ? [] : ctx.flags.stack,
      outDir,
      keep: ctx.flags.keep,
      includeSecrets: ctx.flags.includeSecrets ?? false,
      passphrase,
      engine: runEngine(ctx),
    })
    if (ctx.json) ctx.out({ archive: report.archive, encrypted: report.encrypted, size: report.size, sha256: report.sha256, removed: report.removed, manifest: report.manifest })
    else if (report.archive) ctx.out(ctx.rel(report.archive))
    for (const s of report.manifest.skipped) ctx.log.info(`not in the archive: ${s.stack}/${s.service} (${s.reason})`)
  },
}, import.meta)
