// Check what a path is before it is opened: a file to read must be a regular file (a FIFO waits for a writer for ever,
// a device never ends), and an output folder must be a directory, or creatable, outside /proc, /sys and /dev. No writes.
import { realpathSync, statSync } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { ConfigError } from './errors.ts'

export type PathKind = 'missing' | 'file' | 'directory' | 'a FIFO' | 'a socket' | 'a device' | 'not a regular file'

/** What `abs` is, following symlinks (a dangling link is missing). Never opens it. */
export function pathKind(abs: string): PathKind {
  let st
  try {
    st = statSync(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing'
    throw err
  }
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'directory'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

const describe = (kind: PathKind) => (kind === 'directory' ? 'a directory' : kind)

/**
 * Throws ConfigError unless `abs` is a regular file (or a symlink to one); `shown` names it in the message.
 * Returns false when it does not exist and `optional` is set.
 */
export function requireRegularFile(abs: string, shown: string, o: { optional?: boolean; hint: string }): boolean {
  const kind = pathKind(abs)
  if (kind === 'file') return true
  if (kind === 'missing') {
    if (o.optional) return false
    throw new ConfigError(`${shown} does not exist`, { file: shown, hint: o.hint })
  }
  throw new ConfigError(`${shown} is not a regular file (it is ${describe(kind)})`, { file: shown, hint: `${o.hint}; it must be a regular file (or a symlink to one)` })
}

const PSEUDO = ['/proc', '/sys', '/dev']

/**
 * Checks that `abs` can be an output folder: a directory, or missing below a directory; never under /proc, /sys or
 * /dev (also through a symlink). `flag` (e.g. "--out") and `shown` (what the user wrote) name it in messages.
 */
export function requireOutputDirectory(abs: string, shown: string, flag: string): void {
  const hint = `give ${flag} a folder (it is created when missing), e.g. ${flag} backups`
  const where = `${flag} ${shown}`
  // the nearest part of the path that exists decides: it must be a directory, and not a pseudo file system
  let existing = resolve(abs)
  let kind = pathKind(existing)
  while (kind === 'missing' && dirname(existing) !== existing) {
    existing = dirname(existing)
    kind = pathKind(existing)
  }
  let real = existing
  try {
    real = realpathSync(existing)
  } catch {
    // unreadable: the check below and the later mkdir report it
  }
  const pseudo = PSEUDO.find((p) => real === p || real.startsWith(p + sep) || abs === p || abs.startsWith(p + sep))
  if (pseudo) throw new ConfigError(`${where}: ${pseudo} is a kernel file system, not a place for files`, { hint })
  if (kind !== 'directory') {
    // name the part as the user wrote it: "package.json" for --out package.json/sub
    const rest = resolve(abs).slice(existing.length)
    const part = rest && shown.replace(/\/+$/, '').endsWith(rest) ? shown.replace(/\/+$/, '').slice(0, -rest.length) || existing : existing === resolve(abs) ? shown : existing
    throw new ConfigError(`${where}: ${part} is not a directory (it is ${kind === 'file' ? 'a file' : describe(kind)})`, { hint })
  }
}
