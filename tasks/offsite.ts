// The offsite copy of the backup archives, through restic (encrypted, deduplicated, checked by restic itself):
// `push` backs up the backups folder to STACKYARD_OFFSITE_REPOSITORY (creating the repository, and its password in
// .env, when missing), then forgets and prunes by STACKYARD_OFFSITE_KEEP; `restore [ARCHIVE]` brings an archive
// back into the backups folder (then: npx zx tasks/restore.ts backups/ARCHIVE); `check` runs restic check; `list`
// shows the snapshots and the archives of one. The password reaches restic in its environment, never argv or a file.
// Changes: the restic repository (push), .env (a generated password), the backups folder (restore).
// Usage: npx zx tasks/offsite.ts push|restore|check|list [ARCHIVE] [--snapshot ID] [--dir DIR] [--read-data] [--dry-run] [--json]
import { resolve } from 'node:path'
import { task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { requireOutputDirectory } from '../lib/core/path-kind.ts'
import { BACKUP_DIR } from '../lib/core/backup-dir.ts'
import { checkRepository, listSnapshot, push, restoreArchive } from '../lib/backup/offsite.ts'
import { renderListing } from '../lib/backup/offsite-report.ts'

export default await task({
  summary: 'Copy the backup archives offsite with restic, and bring one back',
  args: [
    { name: 'action', required: true, choices: ['push', 'restore', 'check', 'list'], help: 'push: copy the backups folder; restore: bring an archive back; check: restic check; list: snapshots and archives' },
    { name: 'archive', help: 'restore: the archive name (default: the newest in the snapshot)' },
  ],
  flags: {
    dir: { type: 'string', placeholder: 'DIR', default: BACKUP_DIR, help: 'the backups folder (push copies it, restore writes into it)' },
    snapshot: { type: 'string', placeholder: 'ID', help: 'restore/list: this snapshot (an id or its prefix; default the newest)' },
    'read-data': { type: 'boolean', help: 'check: also download and verify every data pack (slow on remote repositories)' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/offsite.ts push', 'npx zx tasks/offsite.ts restore --json', 'npx zx tasks/offsite.ts check --read-data'],
  async run(ctx) {
    const action = String(ctx.args.action)
    const dir = resolve(ctx.root, ctx.flags.dir)
    if (ctx.args.archive !== undefined && action !== 'restore') throw new UsageError(`${action} takes no ARCHIVE`, { hint: 'only restore does' })
    if (action === 'push') {
      const r = await push(ctx, dir)
      if (ctx.json) ctx.out({ ...r, dryRun: ctx.dryRun })
    } else if (action === 'restore') {
      requireOutputDirectory(dir, ctx.flags.dir, '--dir')
      const r = await restoreArchive(ctx, dir, { archive: ctx.args.archive as string | undefined, snapshot: ctx.flags.snapshot })
      if (ctx.json) ctx.out({ ...r, dryRun: ctx.dryRun })
      else if (!ctx.dryRun) ctx.out(ctx.rel(r.path))
      if (!ctx.dryRun) ctx.log.info(`next: npx zx tasks/restore.ts ${ctx.rel(r.path)}`)
    } else if (action === 'check') {
      const r = await checkRepository(ctx, ctx.flags.readData ?? false)
      if (ctx.json) ctx.out({ repository: r.repository, ok: true, readData: ctx.flags.readData ?? false })
      ctx.log.success(`${r.repository}: restic check found no errors${ctx.flags.readData ? ' (every data pack read)' : ''}`)
    } else {
      const r = await listSnapshot(ctx, ctx.flags.snapshot)
      ctx.out(ctx.json ? r : renderListing(r))
    }
  },
}, import.meta)
