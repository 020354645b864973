// Backup archive names and retention: archives of one kind (same context, same --stack selection) share a name prefix
// and sort by their UTC time stamp; --keep deletes the oldest of that kind only; the newest archive of a folder (what
// backup --verify drills by default). Pure: names in, names out.

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
const ARCHIVE = /^(.*?)(\d{8}T\d{6}Z)\.tar\.gz(\.enc)?$/

/** `stackyard-backup-[<context>-][<stack+stack>-]<UTC time>.tar.gz[.enc]`: archives of one kind share the prefix. */
export function archiveName(o: { context?: string; stacks?: readonly string[]; now: Date; encrypted: boolean }): { name: string; prefix: string } {
  const prefix = `stackyard-backup-${o.context ? `${o.context}-` : ''}${o.stacks?.length ? `${o.stacks.join('+')}-` : ''}`
  return { name: `${prefix}${stamp(o.now)}.tar.gz${o.encrypted ? '.enc' : ''}`, prefix }
}

/** Whether a file name is a backup archive's (any context or selection), and its UTC time stamp. */
export function archiveStamp(name: string): string | undefined {
  return ARCHIVE.exec(name)?.[2]
}

/** The archives beyond the newest `keep` with this exact prefix (the rest of the name must be the time stamp). */
export function retention(files: readonly string[], prefix: string, keep: number): string[] {
  const ours = files.filter((f) => {
    const m = ARCHIVE.exec(f)
    return m !== null && m[1] === prefix
  })
  return ours.sort((a, b) => ARCHIVE.exec(b)![2].localeCompare(ARCHIVE.exec(a)![2]) || b.localeCompare(a)).slice(keep)
}

/** An archive name's UTC time as ISO 8601 (undefined: not an archive name). */
export function archiveTime(name: string): string | undefined {
  const m = ARCHIVE.exec(name)
  if (!m) return undefined
  const s = m[2]
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`
}

/**
 * The newest archive among `files` (names in one folder): by the time the journal recorded for it (`journalAt`, by
 * name), else by the time in its name. Undefined when none is an archive.
 */
export function newestArchive(files: readonly string[], journalAt: ReadonlyMap<string, string> = new Map()): string | undefined {
  const timed = files.flatMap((f) => {
    const t = archiveTime(f)
    return t === undefined ? [] : [{ f, t: Date.parse(journalAt.get(f) ?? t) }]
  })
  return timed.sort((a, b) => b.t - a.t || b.f.localeCompare(a.f))[0]?.f
}
