// Atomic file replacement (temp file, fsync, rename, directory fsync): file system only, no env reads, no domain knowledge.
import { randomBytes } from 'node:crypto'
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface WriteAtomicOptions {
  /** Exact permission bits (e.g. 0o600). Default: the existing file's mode, or the usual 0o666 less umask for a new file. */
  mode?: number
  /** Keep the previous content as `<path>.bak` (one backup, replaced each time, with the target's mode). */
  backup?: boolean
}

export interface WriteAtomicResult {
  changed: boolean
  backupPath?: string
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
 * Creates a new file next to `target` (random name, exclusive create) holding `data`, synced to disk. It is created
 * with `mode` from the start (the umask can only narrow it), then set to exactly `mode`, so its content is never
 * readable more widely than the target's. Returns the temp path; `created` gets it as soon as it exists.
 */
export async function writeTempSibling(target: string, data: string | Buffer, mode: number | undefined, created: string[]): Promise<string> {
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', mode ?? 0o666)
  created.push(tmp)
  try {
    if (mode !== undefined) await handle.chmod(mode)
    await handle.writeFile(data)
    await handle.sync()
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
 * the target is unchanged.
 */
export async function writeFileAtomic(path: string, data: string, opts: WriteAtomicOptions = {}): Promise<WriteAtomicResult> {
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
