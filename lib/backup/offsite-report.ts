// How the offsite listing reads in a terminal: the snapshots, then the archives of the chosen one. Pure: data in, text out.
import { table } from '../core/format.ts'
import type { Snapshot } from './restic.ts'
import type { SnapshotListing } from './offsite.ts'

export function renderListing(r: { snapshots: Snapshot[]; listing?: SnapshotListing; repository: string }): string {
  if (!r.snapshots.length) return `${r.repository}: no Stackyard snapshot yet (npx zx tasks/offsite.ts push)`
  const chosen = r.listing?.snapshot.id
  const lines = [`${r.repository}: ${r.snapshots.length} snapshot${r.snapshots.length === 1 ? '' : 's'}`]
  lines.push(table([['', 'ID', 'TIME', 'HOST', 'FOLDER'], ...r.snapshots.map((s) => [s.id === chosen ? '*' : '', s.id.slice(0, 8), s.time.replace(/\.\d+/, ''), s.hostname ?? '', s.paths.join(', ')])]))
  if (r.listing) {
    lines.push('', `archives in ${r.listing.snapshot.id.slice(0, 8)}:`)
    lines.push(r.listing.archives.length ? table([['ARCHIVE', 'SIZE'], ...r.listing.archives.map((a) => [a.name, a.size === undefined ? '' : String(a.size)])]) : '  (none)')
  }
  return lines.join('\n')
}
