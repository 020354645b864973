// The backup journal (.stackyard/backups.json): one entry per archive this checkout made — when, which stateful
// services it holds — and when a restore drill (`backup --verify`) last proved it. `update --apply` reads it to
// refuse recreating a stateful service without a fresh backup. Pure reading and content building; callers write.
import { readFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../core/errors.ts'
import { STATE_DIR } from '../core/paths.ts'
import { parseJsonAs } from '../core/format.ts'

export const BACKUP_JOURNAL_FILE = join(STATE_DIR, 'backups.json')

const Service = z.object({ stack: z.string(), service: z.string() })
const Entry = z.object({
  /** the archive's file name (basename) and the folder it was written to, absolute */
  archive: z.string().min(1),
  dir: z.string().min(1),
  /** ISO time the backup finished */
  at: z.string(),
  /** the stateful services it holds */
  services: z.array(Service),
  /** the last restore drill: when and whether it passed */
  verifiedAt: z.string().optional(),
  verifyOk: z.boolean().optional(),
})
const Journal = z.object({ version: z.literal(1), entries: z.array(Entry) })
export type JournalEntry = z.infer<typeof Entry>
export type BackupJournal = z.infer<typeof Journal>

/** The journal of this checkout (empty when there is none); a damaged one is a config error naming the file. */
export function readJournal(root: string): BackupJournal {
  const path = join(root, BACKUP_JOURNAL_FILE)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return { version: 1, entries: [] }
  }
  const journal = parseJsonAs(Journal, text)
  if (!journal) throw new ConfigError(`${BACKUP_JOURNAL_FILE} is damaged`, { file: BACKUP_JOURNAL_FILE, hint: `move it aside (the next backup writes a new one): mv ${BACKUP_JOURNAL_FILE} ${BACKUP_JOURNAL_FILE}.damaged` })
  return journal
}

/** The journal's file content with `entry` added (an entry for the same archive and folder is replaced). */
export function withBackup(j: BackupJournal, entry: JournalEntry): string {
  const entries = j.entries.filter((e) => !(e.archive === entry.archive && e.dir === entry.dir))
  return render({ version: 1, entries: [...entries, entry] })
}

/** The journal's file content with a drill result recorded on the archive (an archive not in the journal is added). */
export function withVerify(j: BackupJournal, archive: { archive: string; dir: string; at?: string; services?: JournalEntry['services'] }, verifiedAt: string, ok: boolean): string {
  const found = j.entries.find((e) => e.archive === archive.archive && e.dir === archive.dir)
  const base: JournalEntry = found ?? { archive: archive.archive, dir: archive.dir, at: archive.at ?? verifiedAt, services: archive.services ?? [] }
  return withBackup(j, { ...base, verifiedAt, verifyOk: ok })
}

/** The newest entry holding stack/service (verified: only those whose last drill passed). */
export function lastBackupOf(j: BackupJournal, stack: string, service: string, o: { verified?: boolean } = {}): JournalEntry | undefined {
  return j.entries
    .filter((e) => e.services.some((s) => s.stack === stack && s.service === service) && (!o.verified || e.verifyOk === true))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0]
}

/** The entry a backup records for the archive it wrote: its name, folder and the stateful services it holds. */
export function journalEntry(archive: string, manifest: { createdAt: string; entries: ReadonlyArray<{ stack: string; service: string }> }): JournalEntry {
  const services = new Map(manifest.entries.map((e) => [`${e.stack}/${e.service}`, { stack: e.stack, service: e.service }]))
  return { archive: basename(archive), dir: dirname(resolve(archive)), at: manifest.createdAt, services: [...services.values()] }
}

/** The journal's entry of this archive file, if it has one. */
export function entryOf(j: BackupJournal, archive: string): JournalEntry | undefined {
  return j.entries.find((e) => e.archive === basename(archive) && e.dir === dirname(resolve(archive)))
}

function render(j: BackupJournal): string {
  return JSON.stringify(j, null, 2) + '\n'
}
