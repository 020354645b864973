// `backup --verify [ARCHIVE]` as a task: which archive (the one named, else the newest in the backups folder, by the
// journal's times), its passphrase (STACKYARD_BACKUP_PASSPHRASE or a prompt, as restore), the drill, the report (a
// table or --json) and the verdict: exit 0 passed, 1 failed, 2 when there is no usable archive.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { EXIT, FailureError, UsageError } from '../core/errors.ts'
import { scope } from '../core/scope.ts'
import { backupPassphrase } from './inputs.ts'
import { helperImage } from './methods.ts'
import { readJournal } from './journal.ts'
import { newestArchive } from './retention.ts'
import { renderDrill, runDrill } from './restore-drill.ts'
import type { StackCtx } from '../docker/platform.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'

export interface VerifyInputs {
  /** the ARCHIVE argument */
  archive?: string
  /** --out: the backups folder (absolute) */
  outDir: string
  timeout: number
  /** backup-only flags given along with --verify (refused) */
  conflicting: string[]
}

/** The archive to drill: the one given, else the newest in the folder. A missing one is a usage error. */
export function archiveToVerify(root: string, given: string | undefined, outDir: string, rel: (p: string) => string): string {
  if (given !== undefined) {
    const path = resolve(scope().cwd, given)
    if (!existsSync(path)) throw new UsageError(`${given}: no such archive`, { hint: `the archives are in ${rel(outDir)}/ (ls ${rel(outDir)})` })
    return path
  }
  const files = existsSync(outDir) && statSync(outDir).isDirectory() ? readdirSync(outDir) : []
  const journalAt = new Map(readJournal(root).entries.filter((e) => e.dir === outDir).map((e) => [e.archive, e.at]))
  const newest = newestArchive(files, journalAt)
  if (!newest) throw new UsageError(`no backup archive in ${rel(outDir)}/ to verify`, { hint: 'make one first (npx zx tasks/backup.ts), or name it: npx zx tasks/backup.ts --verify ARCHIVE' })
  return join(outDir, newest)
}

export async function verifyArchive(ctx: StackCtx & Pick<TaskContext<FlagDecls>, 'ask' | 'interactive'>, o: VerifyInputs): Promise<number | undefined> {
  if (o.conflicting.length) throw new UsageError(`--verify drills an existing archive: ${o.conflicting.join(', ')} ${o.conflicting.length > 1 ? 'do' : 'does'} not apply`, { hint: 'run the backup and the drill as two commands' })
  const archive = archiveToVerify(ctx.root, o.archive, o.outDir, ctx.rel)
  const report = await runDrill(ctx, archive, {
    passphrase: () => backupPassphrase(ctx, { confirm: false }),
    helperImage: helperImage(ctx.env),
    timeout: o.timeout,
  })
  if (ctx.json) ctx.out(report)
  else if (!ctx.dryRun) ctx.log.info(renderDrill(report))
  for (const l of report.leftovers) ctx.log.warn(`not removed (the next drill tries again): ${l}`)
  if (ctx.dryRun) return undefined
  const failed = report.services.filter((s) => !s.ok).map((s) => `${s.stack}/${s.service}`)
  if (!report.ok) {
    const message = report.restoreError ? `restore drill of ${ctx.rel(archive)} failed: the restore did not complete` : `restore drill of ${ctx.rel(archive)} failed: ${failed.join(', ')}`
    const hint = 'this archive would not restore the data it holds: take a new backup (npx zx tasks/backup.ts) and drill it; the report names the checks'
    // --json: the report is the one document on stdout; the verdict is the exit code (and this line on stderr)
    if (ctx.json) {
      ctx.log.error(`${message}\n  hint: ${hint}`)
      return EXIT.failure
    }
    throw new FailureError(message, { hint })
  }
  ctx.log.success(`restore drill passed: ${report.services.map((s) => `${s.stack}/${s.service}`).join(', ')}; everything it made is removed`)
  return undefined
}
