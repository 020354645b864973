// The backups folder: created private (0700) by one function for every task that writes there (backup, Infisical
// reset), and swept of what a killed run left in it: work folders of raw dumps and temp files whose process is gone.
// File system only (no Docker, no env reads); it reports what it removed through the given logger.
import { lstatSync, readdirSync, statSync } from 'node:fs'
import { chmod, lstat, mkdir, rm } from 'node:fs/promises'
import { FailureError } from './errors.ts'
import { join } from 'node:path'
import { processAlive, tempFileOwner } from './fs-atomic.ts'

/** The default backups folder, relative to the root. */
export const BACKUP_DIR = 'backups'

/** A backup's work folder: `.stackyard-backup-<pid>-<random>` (earlier versions: no pid). */
export const WORK_PREFIX = '.stackyard-backup-'

/** An ownerless leftover (of a version that did not name its pid) counts as stale once untouched this long. */
export const LEGACY_STALE_MS = 24 * 60 * 60 * 1000

export interface Leftover {
  name: string
  kind: 'work folder' | 'temp file'
  /** the process that made it, when its name says */
  pid?: number
}

/** Work folders and temp files in `dir` whose owning process is gone (or, unnamed, untouched for a day). */
export function staleLeftovers(dir: string, now = Date.now()): Leftover[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const out: Leftover[] = []
  for (const name of names.sort()) {
    const work = new RegExp(`^${WORK_PREFIX.replace(/\./g, '\\.')}(?:(\\d+)-)?[A-Za-z0-9]{6}$`).exec(name)
    const temp = work ? undefined : tempFileOwner(name)
    if (!work && !temp) continue
    const pid = work ? (work[1] ? Number(work[1]) : undefined) : temp!.pid
    if (pid !== undefined ? pid === process.pid || processAlive(pid) : now - lstatSync(join(dir, name)).mtimeMs < LEGACY_STALE_MS) continue
    out.push({ name, kind: work ? 'work folder' : 'temp file', ...(pid !== undefined ? { pid } : {}) })
  }
  return out
}

export interface BackupDirCtx {
  dryRun: boolean
  log: { warn(message: string): void }
  skipped(what: string): void
  rel(path: string): string
}

/**
 * Makes sure `dir` exists, created 0700 (a folder this creates gets exactly 0700, whatever the umask; an existing
 * one keeps its mode; anything else in its place is refused), then removes the stale leftovers of killed runs in it, saying which. A dry run only says so.
 */
export async function prepareBackupDir(ctx: BackupDirCtx, dir: string): Promise<void> {
  const inTheWay = await lstat(dir).then(
    (i) => !i.isDirectory() && !(i.isSymbolicLink() && statSync(dir, { throwIfNoEntry: false })?.isDirectory()),
    () => false,
  )
  if (inTheWay) throw new FailureError(`${ctx.rel(dir)} is not a folder: nothing was written`, { hint: `move ${ctx.rel(dir)} out of the way, or choose another folder (backup: --out DIR)` })
  if (ctx.dryRun) {
    for (const l of staleLeftovers(dir)) ctx.skipped(`remove ${ctx.rel(join(dir, l.name))} (left by a backup that was killed)`)
    return
  }
  const created = await mkdir(dir, { recursive: true, mode: 0o700 })
  if (created !== undefined) await chmod(dir, 0o700)
  for (const l of staleLeftovers(dir)) {
    await rm(join(dir, l.name), { recursive: true, force: true })
    ctx.log.warn(`removed ${ctx.rel(join(dir, l.name))}: a ${l.kind} ${l.pid !== undefined ? `of process ${l.pid}, which is gone` : 'of an earlier version, untouched for a day'} (it held raw dumps or secrets)`)
  }
}

/** A new work folder for this process (0700), named so that a later run can tell when its owner is gone. */
export function workFolderPrefix(dir: string): string {
  return join(dir, `${WORK_PREFIX}${process.pid}-`)
}
