// Backup archive names and retention: archives of one kind (same context, same --stack selection) share a name prefix
// and sort by their UTC time stamp; --keep deletes the oldest of that kind only. Pure: names in, names out.

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
