import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeBackups, refused, statefulServices, ago } from './gate.ts'
import { parseDuration, readSettings } from '../model/settings.ts'
import type { BackupJournal } from '../backup/journal.ts'

const H = 3_600_000
const NOW = Date.parse('2026-12-06T12:00:00Z')
const at = (hoursAgo: number) => new Date(NOW - hoursAgo * H).toISOString()
const PG = { stack: 'data', service: 'postgres' }
const entry = (archive: string, hoursAgo: number, extra: Partial<BackupJournal['entries'][number]> = {}) => ({ archive, dir: '/srv/backups', at: at(hoursAgo), services: [PG], ...extra })
const judge = (entries: BackupJournal['entries'], maxAge: number | null = 24 * H) => judgeBackups({ version: 1, entries }, [PG], { now: NOW, maxAge })[0]

test('a verified backup inside the window is preferred over a newer unverified one', () => {
  const d = judge([entry('verified', 10, { verifiedAt: at(9), verifyOk: true }), entry('newer', 1)])
  assert.deepEqual([d.verdict, d.archive, d.ageMs], ['verified', 'verified', 10 * H])
  assert.equal(refused(d), false)
})

test('a recent backup no drill has proven counts (unverified); an old one does not; none is none', () => {
  assert.deepEqual([judge([entry('recent', 3)]).verdict, judge([entry('recent', 3)]).archive], ['unverified', 'recent'])
  const stale = judge([entry('old', 30, { verifiedAt: at(29), verifyOk: true })])
  assert.deepEqual([stale.verdict, stale.archive, refused(stale)], ['stale', 'old', true])
  assert.deepEqual([judge([]).verdict, refused(judge([]))], ['none', true])
  // another service's backup does not count
  assert.equal(judgeBackups({ version: 1, entries: [{ ...entry('x', 1), services: [{ stack: 'infrastructure', service: 'valkey' }] }] }, [PG], { now: NOW, maxAge: 24 * H })[0].verdict, 'none')
})

test('a backup whose restore drill failed never counts, and is named', () => {
  const d = judge([entry('failed', 1, { verifiedAt: at(0.5), verifyOk: false })])
  assert.deepEqual([d.verdict, d.failedDrill], ['none', 'failed'])
  const older = judge([entry('failed', 1, { verifiedAt: at(0.5), verifyOk: false }), entry('earlier', 5)])
  assert.deepEqual([older.verdict, older.archive, older.failedDrill], ['unverified', 'earlier', 'failed'])
})

test('the window is inclusive; null (off) lets any age count', () => {
  assert.equal(judge([entry('edge', 24)]).verdict, 'unverified')
  assert.equal(judge([entry('past', 24.01)]).verdict, 'stale')
  assert.equal(judge([entry('ancient', 24 * 365)], null).verdict, 'unverified')
})

test('only services whose x-backup is not none are gated', () => {
  const registry = {
    stacks: [
      { name: 'data', services: [{ name: 'postgres', backup: { method: 'pg_dump' } }] },
      { name: 'compute', services: [{ name: 'ollama', backup: { method: 'none', reason: 'models' } }, { name: 'plain' }] },
    ],
  } as unknown as Parameters<typeof statefulServices>[0]
  assert.deepEqual(statefulServices(registry, [PG, { stack: 'compute', service: 'ollama' }, { stack: 'compute', service: 'plain' }]), [PG])
})

test('durations: units, sums, off; anything else is refused, and the setting names where it came from', () => {
  assert.equal(parseDuration('90m'), 90 * 60_000)
  assert.equal(parseDuration('24h'), 24 * H)
  assert.equal(parseDuration('1d12h'), 36 * H)
  assert.equal(parseDuration('2w'), 14 * 24 * H)
  assert.equal(parseDuration(' OFF '), null)
  for (const bad of ['', '24', '1 day', '0h', '-1h', '1.5h', 'h']) assert.equal(parseDuration(bad), undefined, bad)
  assert.equal(readSettings({}).updateBackupMaxAge, 24 * H)
  assert.equal(readSettings({ STACKYARD_UPDATE_BACKUP_MAX_AGE: 'off' }).updateBackupMaxAge, null)
  assert.throws(() => readSettings({ STACKYARD_UPDATE_BACKUP_MAX_AGE: 'soon' }), /STACKYARD_UPDATE_BACKUP_MAX_AGE: "soon" is not a duration/)
  assert.deepEqual([ago(40 * 60_000), ago(5 * H), ago(72 * H)], ['40 min', '5 h', '3 d'])
})
