// Atomic file replacement (temp file, fsync, rename, directory fsync): file system only, no env reads, no domain knowledge.
import { randomBytes } from 'node:crypto'
import { chmod, lstat, open, readdir, readFile, readlink, realpath, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { ConfigError } from './errors.ts'
import { scope } from './scope.ts'

export interface WriteAtomicOptions {
  /** Exact permission bits (e.g. 0o600). Default: the existing file's mode, or the usual 0o666 less umask for a new file. */
  mode?: number
  /** Keep the previous content as `<path>.bak` (one backup, replaced each time, with the target's mode). */
  backup?: boolean
  /** Told the temp files of earlier, interrupted writes of this target (or its backup) that were removed first. */
  onSwept?: (paths: string[]) => void
}

export interface WriteAtomicResult {
  changed: boolean
  backupPath?: string
}

/** `.<name>.<pid>.<12 hex>.tmp` (this version) or `.<name>.<12 hex>.tmp` (earlier ones): the pid owns the file. */
export function tempFileOwner(name: string): { of: string; pid?: number } | undefined {
  const m = /^\.(.+?)\.(?:(\d+)\.)?[0-9a-f]{12}\.tmp$/.exec(name)
  return m ? { of: m[1], ...(m[2] ? { pid: Number(m[2]) } : {}) } : undefined
}

/** Where the run's sweeps are reported when a write passes no `onSwept` (lib/task/task.ts: one message per removed file). */
export function reportSweptWith(fn: ((paths: string[]) => void) | undefined): void {
  scope().swept = fn
}

/** True while a process with this pid exists (EPERM: it exists under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the temp files an interrupted write of `target` (or of its `.bak`) left beside it: those whose owning
 * process is gone, and those of earlier versions (no pid in the name). Returns their paths.
 */
export async function sweepTempSiblings(target: string): Promise<string[]> {
  const dir = dirname(target)
  const names = new Set([basename(target), `${basename(target)}.bak`])
  const swept: string[] = []
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const owner = tempFileOwner(entry)
    if (!owner || !names.has(owner.of)) continue
    if (owner.pid !== undefined && (owner.pid === process.pid || processAlive(owner.pid))) continue
    await unlink(join(dir, entry)).then(
      () => swept.push(join(dir, entry)),
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      },
    )
  }
  return swept
}

/**
 * The file a write of `path` replaces: `path` itself, or the file a symbolic link at `path` points to (so that the
 * link is kept and its target gets the content, never a second copy beside it). A dangling link is refused.
 */
export async function writeTarget(path: string): Promise<string> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (!info?.isSymbolicLink()) return path
  try {
    const target = await realpath(path)
    if (!(await stat(target)).isFile())
      throw new ConfigError(`${basename(path)} is a symbolic link to ${target}, which is not a regular file: nothing was written`, {
        file: path,
        hint: `point the link at the file that holds the values (or replace the link with a regular file), then run again`,
      })
    return target
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const to = resolve(dirname(path), await readlink(path))
    throw new ConfigError(`${basename(path)} is a symbolic link to ${to}, which does not exist: nothing was written`, {
      file: path,
      hint: `create ${to} (or point the link at the file that holds the values, or replace the link with a regular file), then run again`,
    })
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
}

async function readCurrent(path: string): Promise<{ content: Buffer; mode: number } | undefined> {
  try {
    const [content, info] = await Promise.all([readFile(path), stat(path)])
    return { content, mode: info.mode & 0o7777 }
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
}

/**
 * Creates a new file next to `target` (`.<name>.<pid>.<random>.tmp`, exclusive create) holding `data`, synced to
 * disk. It is created 0600 and set to exactly 0600 before any byte is written (whatever `mode` and the umask), and
 * gets `mode` (default: 0666 less the umask) only once written, so a crash mid-write leaves a private file. Returns
 * the temp path; `created` gets it as soon as it exists.
 */
export async function writeTempSibling(target: string, data: string | Buffer, mode: number | undefined, created: string[]): Promise<string> {
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', 0o600)
  created.push(tmp)
  try {
    await handle.chmod(0o600)
    await handle.writeFile(data)
    await handle.sync()
    const final = mode ?? 0o666 & ~process.umask()
    if (final !== 0o600) await handle.chmod(final)
  } finally {
    await handle.close()
  }
  return tmp
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `path` with `data` atomically: a reader sees the old or the new content, never a mix. Identical content
 * is left alone (only the mode is corrected when `opts.mode` differs). On failure no temp file is left behind and
 * the target is unchanged. A symbolic link is written through (the file it points to is replaced, in its folder, and
 * the link kept); temp files earlier interrupted writes left beside the target are removed first (`opts.onSwept`).
 */
export async function writeFileAtomic(link: string, data: string, opts: WriteAtomicOptions = {}): Promise<WriteAtomicResult> {
  const path = await writeTarget(link)
  const swept = await sweepTempSiblings(path)
  if (swept.length) (opts.onSwept ?? scope().swept)?.(swept)
  const current = await readCurrent(path)
  const mode = opts.mode ?? current?.mode
  const bytes = Buffer.from(data, 'utf8')
  if (current?.content.equals(bytes)) {
    if (mode !== undefined && mode !== current.mode) await chmod(path, mode)
    return { changed: false }
  }
  const backupPath = opts.backup && current ? `${path}.bak` : undefined
  const temps: string[] = []
  try {
    const tmp = await writeTempSibling(path, bytes, mode, temps)
    if (backupPath && current) await rename(await writeTempSibling(backupPath, current.content, mode, temps), backupPath)
    await rename(tmp, path)
  } catch (err) {
    // Best effort (a renamed temp is already gone): the error worth reporting is the one that stopped the write.
    await Promise.allSettled(temps.map((t) => unlink(t)))
    throw err
  }
  await syncDirectory(dirname(path))
  return backupPath ? { changed: true, backupPath } : { changed: true }
}
