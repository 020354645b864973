// Restore drill planning and the backup journal: throwaway names a later drill recognises (and never a platform
// project), the compose file a drill runs (no ports, own volumes and network, read-write binds left out, ${VAR}s
// kept), what a dump and an RDB snapshot declare, the newest archive of a folder, and the journal's entries.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { declaredTables, drillCompose, drillId, drillOf, drillProject, DRILL_LABEL, dumpComplete } from './drill-plan.ts'
import { parseKeyspace, rdbKeyspace } from './rdb.ts'
import { pick } from './drill-cleanup.ts'
import { archiveTime, newestArchive } from './retention.ts'
import { BACKUP_JOURNAL_FILE, entryOf, journalEntry, lastBackupOf, readJournal, withBackup, withVerify } from './journal.ts'

const registry = loadRegistry(repoRoot)

test('drill names: recognisable, one project per stack, never a platform project, the pid recoverable', () => {
  const id = drillId(4242, 'a1b2c3')
  const projects = registry.stacks.map((s) => drillProject(id, s))
  for (const p of projects) {
    assert.match(p, /^stackyard-verify-4242-a1b2c3-[a-z0-9_-]+$/)
    assert.deepEqual(drillOf(p), { id, pid: 4242 })
  }
  assert.equal(new Set(projects).size, projects.length)
  for (const s of registry.stacks) assert.ok(!projects.includes(s.project), `${s.project} is not a drill's`)
  for (const s of registry.stacks) assert.equal(drillOf(s.project), undefined)
  assert.equal(drillOf('stackyard-verify-x'), undefined)
  assert.throws(() => drillId(1, 'xyz'))
})

test('the drill compose file: the restored services only, nothing published or shared, fresh labelled volumes', () => {
  const data = registry.stack('data')
  const { doc, dropped } = drillCompose(data, ['postgres'], 'stackyard-verify-1-abcdef-data', '1-abcdef')
  const pg = (doc.services as Record<string, Record<string, unknown>>).postgres
  assert.equal(doc.name, 'stackyard-verify-1-abcdef-data')
  assert.equal(pg.image, data.services.find((s) => s.name === 'postgres')!.image, 'the image the registry declares')
  for (const k of ['ports', 'container_name', 'networks', 'depends_on', 'profiles', 'x-backup']) assert.ok(!(k in pg), k)
  assert.equal(pg.restart, 'no')
  assert.deepEqual(pg.labels, { [DRILL_LABEL]: '1-abcdef' })
  // the secret stays a reference Compose fills from the env layers: nothing secret in the file
  assert.match(String((pg.environment as Record<string, string>).POSTGRES_PASSWORD), /^\$\{POSTGRES_PASSWORD:\?/)
  // its named volume is the project's own (no fixed name: stackyard-postgres-data is the platform's), the init script kept (read-only)
  assert.deepEqual(doc.volumes, { 'postgres-data': { labels: { [DRILL_LABEL]: '1-abcdef' } } })
  assert.ok(!JSON.stringify(doc).includes('stackyard-postgres-data'))
  assert.ok((pg.volumes as string[]).some((v) => v.endsWith(':ro') && v.includes('app-databases.sh')))
  assert.deepEqual(doc.networks, { default: { labels: { [DRILL_LABEL]: '1-abcdef' } } }, 'its own network, not ai-network')
  assert.deepEqual(dropped, [])

  // a read-write bind mount would write into this checkout: left out, and said
  const stack = { ...data, services: [{ ...data.services[0], name: 'x', raw: { image: 'img:1', ports: ['5432:5432'], volumes: ['./state:/state', './conf:/conf:ro', 'cache:/cache', '/anon', { type: 'bind', source: './rw', target: '/rw' }] } }] }
  const r = drillCompose(stack as typeof data, ['x'], 'p', '1-abcdef')
  const x = (r.doc.services as Record<string, Record<string, unknown>>).x
  assert.deepEqual(x.volumes, ['./conf:/conf:ro', 'cache:/cache', '/anon'])
  assert.deepEqual(r.dropped, ['x: bind mount ./state (read-write)', 'x: bind mount ./rw (read-write)'])
  assert.ok(!('ports' in x))
})

test('a drill sweep picks one drill, or the drills whose process is gone; never anything else', () => {
  const mine = drillId(process.pid, 'aaaaaa')
  const dead = drillId(2 ** 22 + 12345, 'bbbbbb') // above any pid_max default: no such process
  const lines = [`c1\t${mine}`, `c2\t${dead}`, 'c3\tstackyard-data', 'c4\t', `c5\t${dead}`, 'c6\t12-zzzzzz'].join('\n')
  assert.deepEqual(pick(lines, { id: mine }), ['c1'])
  assert.deepEqual(pick(lines, { stale: true }), ['c2', 'c5'])
})

test('what a dump declares: its tables (not COPY data that looks like one), and whether it is complete', () => {
  const dump = [
    'CREATE TABLE public.items (',
    '    id integer',
    ');',
    'CREATE UNLOGGED TABLE public.cache (k text);',
    'CREATE FOREIGN TABLE public.f (x int) SERVER s;',
    'COPY public.items (id) FROM stdin;',
    'CREATE TABLE not_a_table',
    '\\.',
    '-- PostgreSQL database dump complete',
    '',
    '\\unrestrict abc123',
    '',
  ].join('\n')
  assert.equal(declaredTables(dump), 2)
  assert.equal(dumpComplete(dump.slice(-200)), true)
  assert.equal(dumpComplete(dump.slice(0, dump.indexOf('\\.'))), false, 'a truncated dump')
})

const len = (n: number) => Buffer.from([n])
const str = (s: string) => Buffer.concat([len(s.length), Buffer.from(s)])

test('what an RDB snapshot declares: the first database and its keys, from the records before them', () => {
  const head = Buffer.concat([Buffer.from('REDIS0011'), Buffer.from([0xfa]), str('redis-ver'), str('8.1.1'), Buffer.from([0xfa]), str('redis-bits'), Buffer.from([0xc0, 64]), Buffer.from([0xfa]), str('ctime'), Buffer.from([0xc2, 1, 2, 3, 4])])
  const rdb = Buffer.concat([head, Buffer.from([0xfe, 0x00, 0xfb, 0x02, 0x01]), Buffer.from([0x00]), str('greeting'), str('hello'), Buffer.from([0xff])])
  assert.deepEqual(rdbKeyspace(rdb), { db: 0, keys: 2, expires: 1 })
  assert.deepEqual(rdbKeyspace(Buffer.concat([head, Buffer.from([0xff])])), { keys: 0, expires: 0 }, 'empty')
  assert.equal(rdbKeyspace(Buffer.concat([head, Buffer.from([0xfe, 0x00])])), undefined, 'truncated before RESIZEDB')
  assert.equal(rdbKeyspace(Buffer.from('not an rdb at all')), undefined)
  assert.deepEqual([...parseKeyspace('# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\ndb3:keys=7,expires=0,avg_ttl=0\r\n')], [[0, 2], [3, 7]])
})

test('the newest archive of a folder: by the journal time, else by the time in its name', () => {
  assert.equal(archiveTime('stackyard-backup-20260102T030405Z.tar.gz.enc'), '2026-01-02T03:04:05Z')
  assert.equal(archiveTime('notes.txt'), undefined)
  const files = ['stackyard-backup-20260101T000000Z.tar.gz', 'stackyard-backup-data-20260103T000000Z.tar.gz', 'x.tar.gz', '.stackyard-backup-1-abcdef']
  assert.equal(newestArchive(files), 'stackyard-backup-data-20260103T000000Z.tar.gz')
  assert.equal(newestArchive(['x.txt']), undefined)
})

test('the journal: a backup adds its entry, a drill records its verdict on it, the last verified backup of a service', () => {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-journal-'))
  try {
    const j0 = readJournal(root)
    assert.deepEqual(j0, { version: 1, entries: [] })
    const m = { createdAt: '2026-01-01T00:00:00.000Z', entries: [{ stack: 'data', service: 'postgres' }, { stack: 'data', service: 'postgres' }, { stack: 'infrastructure', service: 'valkey' }] }
    const e = journalEntry(join(root, 'backups', 'stackyard-backup-20260101T000000Z.tar.gz'), m)
    assert.deepEqual(e, { archive: 'stackyard-backup-20260101T000000Z.tar.gz', dir: join(root, 'backups'), at: m.createdAt, services: [{ stack: 'data', service: 'postgres' }, { stack: 'infrastructure', service: 'valkey' }] })
    mkdirSync(join(root, '.stackyard'))
    writeFileSync(join(root, BACKUP_JOURNAL_FILE), withBackup(j0, e))
    const j1 = readJournal(root)
    assert.equal(lastBackupOf(j1, 'data', 'postgres')?.archive, e.archive)
    assert.equal(lastBackupOf(j1, 'data', 'postgres', { verified: true }), undefined, 'not drilled yet')
    writeFileSync(join(root, BACKUP_JOURNAL_FILE), withVerify(j1, { archive: e.archive, dir: e.dir }, '2026-01-02T00:00:00.000Z', true))
    const j2 = readJournal(root)
    assert.equal(j2.entries.length, 1)
    assert.deepEqual(entryOf(j2, join(e.dir, e.archive)), { ...e, verifiedAt: '2026-01-02T00:00:00.000Z', verifyOk: true })
    assert.equal(lastBackupOf(j2, 'data', 'postgres', { verified: true })?.archive, e.archive)
    writeFileSync(join(root, BACKUP_JOURNAL_FILE), withVerify(j2, { archive: e.archive, dir: e.dir }, '2026-01-03T00:00:00.000Z', false))
    assert.equal(lastBackupOf(readJournal(root), 'data', 'postgres', { verified: true }), undefined, 'the last drill failed')
    writeFileSync(join(root, BACKUP_JOURNAL_FILE), '{"version":1,"entries":[{"archive":1}]}')
    assert.throws(() => readJournal(root), /backups\.json is damaged/)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
