// Hostile archives given to restore: forged manifests (shell syntax, traversal, foreign names in every field), unsafe
// or non-file tar entries, unlisted and expanding content, bad checksums and sizes, a secret file that would not parse,
// and paths that are not archives at all (a directory, a FIFO, /proc). Each must be refused with exit 2 before anything
// is written (no .env, nothing under .stackyard/) and without printing a secret the archive holds.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { tarHeader, writeArchive, type EntrySource } from '../../../lib/backup/archive.ts'
import type { HostileCase } from '../case.ts'
import type { TempRepo } from '../../helpers/repo.ts'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const RDB = Buffer.concat([Buffer.from('REDIS0011'), Buffer.from([0xfa, 0x09, 0x00, 0xff])])
const CADDY = Buffer.from('a volume tar in real life\n')
const SECRET = 's3cr3t-value-from-the-archive-7f3a'

interface Parts {
  manifest: Record<string, unknown>
  files: Record<string, Buffer>
}

/** A manifest and files restore would accept: valkey's snapshot, caddy's volume, optionally a .env. */
function valid(env?: string | Buffer): Parts {
  const files: Record<string, Buffer> = { 'data/infrastructure/valkey/dump.rdb': RDB, 'data/infrastructure/caddy/volume-caddy-data.tar': CADDY }
  const base = { stack: 'infrastructure', project: 'stackyard-infra', image: 'img:1' }
  const entries = [
    { ...base, service: 'valkey', method: 'snapshot', kind: 'snapshot', file: 'data/infrastructure/valkey/dump.rdb', volume: 'valkey-data', target: 'dump.rdb', size: RDB.length, sha256: sha(RDB) },
    { ...base, service: 'caddy', method: 'volume', kind: 'volume', file: 'data/infrastructure/caddy/volume-caddy-data.tar', volume: 'caddy-data', size: CADDY.length, sha256: sha(CADDY) },
  ]
  const secrets = []
  if (env !== undefined) {
    files['secrets/.env'] = Buffer.from(env)
    secrets.push({ name: '.env', file: 'secrets/.env', size: files['secrets/.env'].length, sha256: sha(files['secrets/.env']) })
  }
  return {
    manifest: { format: 'stackyard-backup', version: 1, createdAt: '2026-01-01T00:00:00.000Z', stackyard: { version: '0.1.0', commit: null }, context: null, environment: 'private', stacks: ['infrastructure'], entries, secrets, skipped: [] },
    files,
  }
}

const entriesOf = (m: Record<string, unknown>) => m.entries as Array<Record<string, unknown>>
const sources = (p: Parts): EntrySource[] => [{ name: 'manifest.json', source: Buffer.from(JSON.stringify(p.manifest)) }, ...Object.entries(p.files).map(([name, source]) => ({ name, source }))]

/** writes backups/<name> through the product's writer (which itself refuses unsafe names) */
const archive = (name: string, make: () => Parts | EntrySource[]) => async (repo: TempRepo) => {
  mkdirSync(join(repo.root, 'backups'), { recursive: true })
  const made = make()
  await writeArchive(join(repo.root, 'backups', name), Array.isArray(made) ? made : sources(made))
}

/** a raw tar.gz, for what the writer would never write: unsafe names, links, data after the end */
function rawTar(entries: Array<{ name: string; data?: Buffer; type?: string }>, after: Buffer = Buffer.alloc(0)): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0)
    const h = tarHeader(e.name, data.length, Date.now())
    if (e.type) {
      h.write(e.type, 156, 'ascii')
      h.write('        ', 148, 'ascii')
      let sum = 0
      for (const b of h) sum += b
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
    }
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024), after]))
}
const raw = (name: string, make: () => Buffer) => (repo: TempRepo) => {
  mkdirSync(join(repo.root, 'backups'), { recursive: true })
  writeFileSync(join(repo.root, 'backups', name), make())
}
const manifestBytes = (p: Parts) => Buffer.from(JSON.stringify(p.manifest))

const NOTHING_WRITTEN = ['.env', '.env.infisical', '.stackyard']
function refused(name: string, file: string, setup: HostileCase['setup'], message: RegExp, extra: Partial<HostileCase> = {}): HostileCase {
  return { name, task: 'restore.ts', args: [`backups/${file}`, '--yes'], setup, expect: { code: 2, message }, unchanged: NOTHING_WRITTEN, ...extra }
}
const forged = (change: (p: Parts) => void, env?: string | Buffer) => () => {
  const p = valid(env)
  change(p)
  return p
}

export const cases: HostileCase[] = [
  // ---- forged manifest names (a plain archive's checksums are consistent: only the registry can tell) ----
  refused('restore: a shell command in a snapshot target', 'target.tar.gz', archive('target.tar.gz', forged((p) => (entriesOf(p.manifest)[0].target = 'dump.rdb;touch${IFS}/volume/INJECTED;#'))), /target "dump\.rdb;touch\$\{IFS\}\/volume\/INJECTED;#" should be "dump\.rdb"/),
  refused('restore: command substitution in a snapshot target', 'subst.tar.gz', archive('subst.tar.gz', forged((p) => (entriesOf(p.manifest)[0].target = '$(id>/volume/x).rdb'))), /target .* should be "dump\.rdb"/),
  refused('restore: a traversal in a snapshot target', 'traversal.tar.gz', archive('traversal.tar.gz', forged((p) => (entriesOf(p.manifest)[0].target = '../../../etc/cron.d/evil'))), /target "\.\.\/\.\.\/\.\.\/etc\/cron\.d\/evil" should be/),
  refused('restore: another stack\'s volume named for a service', 'volume.tar.gz', archive('volume.tar.gz', forged((p) => (entriesOf(p.manifest)[1].volume = 'postgres-data'))), /caddy: volume "postgres-data" is not one it backs up/),
  refused('restore: a volume name with a shell command', 'volcmd.tar.gz', archive('volcmd.tar.gz', forged((p) => (entriesOf(p.manifest)[1].volume = 'caddy-data;rm -rf /'))), /volume "caddy-data;rm -rf \/" is not one it backs up/),
  refused('restore: a method the service does not declare', 'method.tar.gz', archive('method.tar.gz', forged((p) => Object.assign(entriesOf(p.manifest)[0], { method: 'volume', kind: 'volume', volume: 'valkey-data' }))), /valkey: a volume backup, but its x-backup method is snapshot/),
  refused('restore: a service that declares no backup (cloudflared)', 'service.tar.gz', archive('service.tar.gz', forged((p) => Object.assign(entriesOf(p.manifest)[1], { service: 'cloudflared' }))), /cloudflared: a volume backup, but the service declares no x-backup/),
  refused('restore: a service this repository does not have', 'unknown.tar.gz', archive('unknown.tar.gz', forged((p) => Object.assign(entriesOf(p.manifest)[1], { service: 'evil' }))), /infrastructure\/evil, which this repository does not declare/),
  refused('restore: an archive file name that is not the one the method writes', 'file.tar.gz', archive('file.tar.gz', () => {
    const p = valid()
    entriesOf(p.manifest)[0].file = 'data/infrastructure/caddy/../valkey/x'
    p.files = { 'data/infrastructure/caddy/volume-caddy-data.tar': CADDY, 'data/infrastructure/valkey/x': RDB }
    return [{ name: 'manifest.json', source: manifestBytes(p) }, { name: 'data/infrastructure/valkey/dump.rdb', source: RDB }]
  }), /unsafe path|not in the manifest|listed in the manifest, missing/),
  refused('restore: a database name psql would read as a connection string', 'dbname.tar.gz', archive('dbname.tar.gz', () => {
    const dump = Buffer.from('--\n-- PostgreSQL database dump complete\n--\n')
    const file = `data/infrastructure/infisical-db/db-${encodeURIComponent('host=evil.example dbname=x')}.sql`
    const p = valid()
    entriesOf(p.manifest).push({ stack: 'infrastructure', service: 'infisical-db', project: 'stackyard-infra', image: 'img:1', method: 'pg_dump', kind: 'database', database: 'host=evil.example dbname=x', file, size: dump.length, sha256: sha(dump) })
    p.files[file] = dump
    return p
  }), /database "host=evil\.example dbname=x" is not a database name/),
  refused('restore: terminal escapes in a manifest text', 'escape.tar.gz', archive('escape.tar.gz', forged((p) => (entriesOf(p.manifest)[0].image = 'img\u001b]0;owned\u0007'))), /manifest\.json: entries\.0\.image: holds control characters/),
  refused('restore: a file listed twice', 'twice.tar.gz', archive('twice.tar.gz', () => {
    const p = valid()
    entriesOf(p.manifest).push({ ...entriesOf(p.manifest)[1] })
    return p
  }), /lists data\/infrastructure\/caddy\/volume-caddy-data\.tar twice/),
  refused('restore: a secret file stored under another name', 'secretname.tar.gz', archive('secretname.tar.gz', () => {
    const p = valid('A=1\n')
    const secrets = p.manifest.secrets as Array<Record<string, unknown>>
    secrets[0].file = 'secrets/../.env'
    return [{ name: 'manifest.json', source: manifestBytes(p) }]
  }), /unsafe path|missing from the archive|should be "secrets\/\.env"/),
  refused('restore: a manifest that is not JSON', 'json.tar.gz', archive('json.tar.gz', () => [{ name: 'manifest.json', source: Buffer.from('{"format": "stackyard-backup",') }]), /manifest\.json is not JSON/),
  refused('restore: a manifest of another format', 'format.tar.gz', archive('format.tar.gz', () => [{ name: 'manifest.json', source: Buffer.from('{"format":"other","version":1}') }]), /manifest\.json: format/),
  // ---- the tar stream itself ----
  refused('restore: an absolute entry name', 'abs.tar.gz', raw('abs.tar.gz', () => rawTar([{ name: 'manifest.json', data: manifestBytes(valid()) }, { name: '/etc/cron.d/evil', data: Buffer.from('x') }])), /unsafe path/),
  refused('restore: a ../ entry name', 'dotdot.tar.gz', raw('dotdot.tar.gz', () => rawTar([{ name: 'manifest.json', data: manifestBytes(valid()) }, { name: 'data/../../../x', data: Buffer.from('x') }])), /unsafe path/),
  refused('restore: a symlink entry', 'link.tar.gz', raw('link.tar.gz', () => rawTar([{ name: 'manifest.json', data: manifestBytes(valid()) }, { name: 'data/infrastructure/valkey/dump.rdb', type: '2' }])), /not a regular file \(tar type "2"\)/),
  refused('restore: a hard link entry', 'hard.tar.gz', raw('hard.tar.gz', () => rawTar([{ name: 'manifest.json', data: manifestBytes(valid()) }, { name: 'x', type: '1' }])), /not a regular file \(tar type "1"\)/),
  refused('restore: a file the manifest does not list', 'extra.tar.gz', archive('extra.tar.gz', () => [...sources(valid()), { name: 'run-me.sh', source: Buffer.from('#!/bin/sh\nid\n') }]), /run-me\.sh: not in the manifest/),
  refused('restore: a listed file missing', 'missing.tar.gz', archive('missing.tar.gz', () => sources(valid()).slice(0, 2)), /volume-caddy-data\.tar: listed in the manifest, missing from the archive/),
  refused('restore: the manifest not first', 'order.tar.gz', archive('order.tar.gz', () => { const s = sources(valid()); return [s[1], s[0], s[2]] }), /does not start with manifest\.json/),
  refused('restore: a manifest over 4 MiB', 'bigmanifest.tar.gz', archive('bigmanifest.tar.gz', () => [{ name: 'manifest.json', source: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20) }]), /manifest\.json is 4194305 bytes, more than the 4194304/),
  refused('restore: a changed file (bad checksum)', 'changed.tar.gz', archive('changed.tar.gz', () => { const p = valid(); p.files['data/infrastructure/valkey/dump.rdb'] = Buffer.from('REDIS0011-changed'.slice(0, RDB.length)); return p }), /valkey\/dump\.rdb: sha256 [0-9a-f]{12}…, the manifest says/),
  refused('restore: a file of another size', 'size.tar.gz', archive('size.tar.gz', () => { const p = valid(); p.files['data/infrastructure/caddy/volume-caddy-data.tar'] = Buffer.concat([CADDY, Buffer.from('more')]); return p }), /volume-caddy-data\.tar: 30 bytes, the manifest says 26/),
  refused('restore: an expanding archive (64 MiB of zeros listed with a wrong sha256)', 'bomb.tar.gz', archive('bomb.tar.gz', () => {
    const p = valid()
    const zeros = Buffer.alloc(64 * 1024 * 1024)
    p.files['data/infrastructure/caddy/volume-caddy-data.tar'] = zeros
    Object.assign(entriesOf(p.manifest)[1], { size: zeros.length, sha256: 'f'.repeat(64) })
    return p
  }), /volume-caddy-data\.tar: sha256 [0-9a-f]{12}…, the manifest says ffffffffffff…/),
  refused('restore: data after the end of the archive', 'after.tar.gz', raw('after.tar.gz', () => rawTar([{ name: 'manifest.json', data: manifestBytes(valid()) }, ...Object.entries(valid().files).map(([name, data]) => ({ name, data }))], Buffer.from('#!/bin/sh\nid\n'))), /data after the end of the archive/),
  refused('restore: not gzip at all', 'text.tar.gz', raw('text.tar.gz', () => Buffer.from('just text\n')), /not a valid gzip-compressed backup archive/),
  refused('restore: a truncated encrypted header', 'cut.tar.gz.enc', raw('cut.tar.gz.enc', () => Buffer.from('STKYBAK1\x11\x08')), /truncated/),
  // ---- secret files that would break the installation if written ----
  refused('restore: an .env that Compose cannot parse (a secret inside is not printed)', 'badenv.tar.gz', archive('badenv.tar.gz', forged(() => undefined, `TOKEN=${SECRET}\nBROKEN="never closed\n`)), /the archive's \.env:2:8: unterminated quoted value.*Compose could not read it after the restore/, { secrets: [SECRET] }),
  refused('restore: an .env with a required variable nothing sets', 'required.tar.gz', archive('required.tar.gz', forged(() => undefined, `TOKEN=${SECRET}\nX=\${NOWHERE_SET:?must be set}\n`)), /the archive's \.env:2/, { secrets: [SECRET] }),
  refused('restore: an .env with settings the platform refuses', 'settings.tar.gz', archive('settings.tar.gz', forged(() => undefined, `TOKEN=${SECRET}\nSTACKYARD_ENVIRONMENT=production\n`)), /with its secret files, .*"production" is not private or public/, { secrets: [SECRET] }),
  refused('restore: an .env that is not UTF-8', 'latin1.tar.gz', archive('latin1.tar.gz', forged(() => undefined, Buffer.from('A=caf\xe9\n', 'latin1'))), /its \.env is not UTF-8 text/),
  // ---- not an archive at all ----
  { name: 'restore: a directory as ARCHIVE', task: 'restore.ts', args: ['compose', '--yes'], expect: { code: 2, message: /compose is a directory, not an archive file/ }, unchanged: NOTHING_WRITTEN },
  {
    name: 'restore: a FIFO as ARCHIVE (no writer: must not hang)',
    task: 'restore.ts',
    args: ['backups/fifo.tar.gz', '--yes'],
    setup: (repo) => {
      mkdirSync(join(repo.root, 'backups'), { recursive: true })
      execFileSync('mkfifo', [join(repo.root, 'backups', 'fifo.tar.gz')])
    },
    timeoutMs: 20_000,
    expect: { code: 2, message: /fifo\.tar\.gz is a FIFO, not an archive file/ },
    unchanged: NOTHING_WRITTEN,
  },
  { name: 'restore: a device as ARCHIVE', task: 'restore.ts', args: ['/dev/zero', '--yes'], expect: { code: 2, message: /\/dev\/zero is a device, not an archive file/ }, unchanged: NOTHING_WRITTEN },
  { name: 'restore: /proc/self/environ as ARCHIVE (its content is not printed)', task: 'restore.ts', args: ['/proc/self/environ', '--yes'], env: { STACKYARD_HOSTILE_MARK: SECRET }, secrets: [SECRET], expect: { code: 2, message: /environ is not a valid gzip-compressed backup archive/ }, unchanged: NOTHING_WRITTEN },
  { name: 'restore: a missing ARCHIVE', task: 'restore.ts', args: ['backups/nope.tar.gz', '--yes'], expect: { code: 2, message: /cannot read .*nope\.tar\.gz: ENOENT/ }, unchanged: NOTHING_WRITTEN },
]
