// Backup and restore building blocks: the restore order (stacks by their `after`, data stores before the services
// that depend on them, roles before databases), what a restore stops, archive names and retention, the roles rewrite,
// manifest verification, x-backup validation, and the --context runner wrapper.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from './registry.ts'
import { repoRoot } from './paths.ts'
import { planRestore } from './restore.ts'
import { archiveName, retention } from './backup-retention.ts'
import { parseDatabaseList, pg, quoteIdent, tolerantRoles } from './backup-methods.ts'
import { verifyEntries, type Manifest, type ManifestEntry } from './backup-manifest.ts'
import { configuredContexts, hostProfiles, hostStacks, hostStacksVariable, withDockerContext } from './docker-context.ts'
import type { Runner } from './exec.ts'

const registry = loadRegistry(repoRoot)
const sha = 'a'.repeat(64)
const entry = (stack: string, service: string, kind: ManifestEntry['kind'], extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  stack, service, project: registry.stack(stack).project, method: kind === 'globals' || kind === 'database' ? 'pg_dump' : kind, kind,
  file: `data/${stack}/${service}/${kind}-${extra.database ?? extra.volume ?? 'x'}`, size: 1, sha256: sha, image: 'img:1', ...extra,
})
const manifest = (entries: ManifestEntry[], stacks = ['infrastructure', 'data', 'compute', 'apps', 'ops']): Manifest => ({
  format: 'stackyard-backup', version: 1, createdAt: '2026-01-01T00:00:00.000Z', stackyard: { version: '0.1.0', commit: null }, context: null,
  environment: 'private', stacks, entries, secrets: [{ name: '.env', file: 'secrets/.env', size: 1, sha256: sha }], skipped: [],
})

test('restore order: stacks in dependency order, inside a stack what others depend on first, roles before databases', () => {
  // deliberately shuffled, as if written in another order
  const m = manifest([
    entry('apps', 'n8n', 'volume', { volume: 'n8n-data' }),
    entry('data', 'postgres', 'database', { database: 'n8n', owner: 'n8n' }),
    entry('infrastructure', 'infisical-db', 'database', { database: 'infisical' }),
    entry('data', 'postgres', 'globals'),
    entry('infrastructure', 'caddy', 'volume', { volume: 'caddy-data' }),
    entry('data', 'postgres', 'database', { database: 'flowise', owner: 'flowise' }),
    entry('infrastructure', 'infisical-redis', 'snapshot', { volume: 'infisical-redis-data', target: 'dump.rdb' }),
  ])
  const plan = planRestore(registry, m, [], { secrets: true })
  assert.deepEqual(plan.stacks.map((s) => s.name), ['infrastructure', 'data', 'compute', 'apps', 'ops'])
  assert.deepEqual(plan.services.map((s) => `${s.stack.name}/${s.service}`), ['infrastructure/caddy', 'infrastructure/infisical-db', 'infrastructure/infisical-redis', 'data/postgres', 'apps/n8n'])
  assert.deepEqual(plan.services.find((s) => s.service === 'postgres')!.entries.map((e) => e.kind + (e.database ? `:${e.database}` : '')), ['globals', 'database:flowise', 'database:n8n'])
  assert.deepEqual(plan.secrets.map((s) => s.name), ['.env'])
  assert.deepEqual(planRestore(registry, m, [], { secrets: false }).secrets, [])
  // only the data stack: it and the stacks that consume it stop; nothing else
  const data = planRestore(registry, m, ['data'], { secrets: true })
  assert.deepEqual(data.services.map((s) => s.service), ['postgres'])
  assert.deepEqual(data.affected.map((s) => s.name), ['data', 'apps'])
  assert.throws(() => planRestore(registry, manifest([], ['data']), ['apps'], { secrets: true }), /holds no backup of apps/)
  assert.throws(() => planRestore(registry, manifest([entry('data', 'postgres', 'globals'), { ...entry('data', 'postgres', 'globals'), service: 'mysql' }]), [], { secrets: true }), /data\/mysql, which this repository does not declare/)
})

test('a service that depends on another is restored after it (depends_on), within one stack', () => {
  const m = manifest([
    entry('infrastructure', 'infisical-backend', 'volume', { volume: 'x' }),
    entry('infrastructure', 'infisical-redis', 'snapshot', { volume: 'infisical-redis-data' }),
    entry('infrastructure', 'infisical-db', 'globals'),
  ], ['infrastructure'])
  assert.deepEqual(planRestore(registry, m, [], { secrets: false }).services.map((s) => s.service), ['infisical-db', 'infisical-redis', 'infisical-backend'])
})

test('archive names: the context and a --stack selection are part of the name; retention keeps the newest N of exactly that kind', () => {
  const now = new Date('2026-03-04T05:06:07.890Z')
  assert.deepEqual(archiveName({ now, encrypted: false }), { name: 'stackyard-backup-20260304T050607Z.tar.gz', prefix: 'stackyard-backup-' })
  assert.equal(archiveName({ now, encrypted: true, context: 'edge-1', stacks: ['data', 'apps'] }).name, 'stackyard-backup-edge-1-data+apps-20260304T050607Z.tar.gz.enc')
  const files = [
    'stackyard-backup-20260101T000000Z.tar.gz', 'stackyard-backup-20260103T000000Z.tar.gz.enc', 'stackyard-backup-20260102T000000Z.tar.gz',
    'stackyard-backup-edge-1-20250101T000000Z.tar.gz', 'stackyard-backup-data-20250101T000000Z.tar.gz', 'stackyard-backup-20250101T000000Z.tar.gz.partial', 'notes.txt',
  ]
  assert.deepEqual(retention(files, 'stackyard-backup-', 2), ['stackyard-backup-20260101T000000Z.tar.gz'])
  assert.deepEqual(retention(files, 'stackyard-backup-', 5), [])
  assert.deepEqual(retention(files, 'stackyard-backup-edge-1-', 1), [])
})

test('roles dump: every CREATE ROLE tolerates an existing role, nothing else changes; database names quoted; the list parsed', () => {
  assert.equal(tolerantRoles('CREATE ROLE n8n;'), 'DO $stackyard$ BEGIN CREATE ROLE n8n; EXCEPTION WHEN duplicate_object THEN NULL; END $stackyard$;')
  assert.equal(tolerantRoles('CREATE ROLE "We""ird";'), 'DO $stackyard$ BEGIN CREATE ROLE "We""ird"; EXCEPTION WHEN duplicate_object THEN NULL; END $stackyard$;')
  for (const keep of ['ALTER ROLE n8n WITH LOGIN;', 'GRANT pg_read_all_data TO n8n;', '-- CREATE ROLE n8n;', 'CREATE ROLE n8n WITH LOGIN;']) assert.equal(tolerantRoles(keep), keep)
  assert.equal(quoteIdent('a"b'), '"a""b"')
  assert.deepEqual(pg.createDatabase('postgres', 'my db', 'app').slice(-2), ['-c', 'CREATE DATABASE "my db" OWNER "app"'])
  assert.deepEqual(parseDatabaseList('n8n\tn8n\npostgres\tpostgres\n\n'), [{ name: 'n8n', owner: 'n8n' }, { name: 'postgres', owner: 'postgres' }])
})

test('manifest verification: missing, resized, changed, unlisted and twice-listed files are each named', () => {
  const m = manifest([entry('data', 'postgres', 'globals', { file: 'a', size: 3, sha256: 'b'.repeat(64) }), entry('data', 'postgres', 'database', { file: 'b', size: 3, sha256: 'c'.repeat(64) })])
  const ok = new Map([['manifest.json', { size: 9, sha256: sha }], ['a', { size: 3, sha256: 'b'.repeat(64) }], ['b', { size: 3, sha256: 'c'.repeat(64) }], ['secrets/.env', { size: 1, sha256: sha }]])
  assert.deepEqual(verifyEntries(m, ok), [])
  const bad = new Map(ok)
  bad.set('a', { size: 4, sha256: 'b'.repeat(64) })
  bad.set('b', { size: 3, sha256: 'd'.repeat(64) })
  bad.delete('secrets/.env')
  bad.set('evil.sh', { size: 1, sha256: sha })
  assert.deepEqual(verifyEntries(m, bad), ['a: 4 bytes, the manifest says 3', 'b: sha256 dddddddddddd…, the manifest says cccccccccccc…', 'secrets/.env: missing', 'evil.sh: not in the manifest'])
  assert.deepEqual(verifyEntries({ ...m, entries: [...m.entries, m.entries[0]] }, ok), ['a: listed twice'])
})

test('x-backup in the registry: methods and options validated; volumes must be ones the service mounts; unknown fields refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-xbackup-'))
  try {
    cpSync(join(repoRoot, 'compose'), join(root, 'compose'), { recursive: true })
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'))
    const file = join(root, 'compose/00-infrastructure/docker-compose.yml')
    const original = readFileSync(file, 'utf8')
    const withBackup = (yaml: string) => writeFileSync(file, original.replace('      method: volume\n      volumes: [caddy-data]\n', yaml))
    withBackup('      method: volume\n      volumes: [nope]\n')
    assert.throws(() => loadRegistry(root), /services\.caddy\.x-backup: "nope" is not a named volume this service mounts \(caddy-data, caddy-config\)/)
    withBackup('      method: snapshot\n      cli: valkey-cli\n')
    assert.throws(() => loadRegistry(root), /x-backup/)
    withBackup('      method: rsync\n')
    assert.throws(() => loadRegistry(root), /x-backup/)
    withBackup('      method: none\n')
    assert.throws(() => loadRegistry(root), /reason/)
    withBackup('      method: volume\n')
    assert.deepEqual(loadRegistry(root).services.find((s) => s.name === 'caddy')!.backup, { method: 'volume' })
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('--context: docker commands get the global flag first, other programs are untouched; contexts and host assignments from the env', async () => {
  const seen: string[][] = []
  const fake: Runner = async (cmd, args) => {
    seen.push([cmd, ...args])
    return { exitCode: 0, stdout: '', stderr: '' }
  }
  const runner = withDockerContext(fake, 'edge-1')
  await runner('docker', ['compose', 'ps'])
  await runner('git', ['rev-parse', 'HEAD'])
  assert.deepEqual(seen, [['docker', '--context', 'edge-1', 'compose', 'ps'], ['git', 'rev-parse', 'HEAD']])
  assert.equal(withDockerContext(fake, undefined), fake)
  assert.deepEqual(configuredContexts({ STACKYARD_CONTEXTS: ' default, edge-1 ,edge-1,' }), ['default', 'edge-1'])
  assert.throws(() => configuredContexts({ STACKYARD_CONTEXTS: 'ok,bad name' }), /STACKYARD_CONTEXTS: "bad name" is not a Docker context name/)
  assert.equal(hostStacksVariable('edge-1.lan'), 'STACKYARD_HOST_EDGE_1_LAN_STACKS')
  assert.deepEqual(hostStacks({ STACKYARD_HOST_EDGE_1_STACKS: 'data, ops' }, 'edge-1'), ['data', 'ops'])
  assert.equal(hostStacks({}, 'edge-1'), undefined)
  assert.deepEqual(hostProfiles({ STACKYARD_HOST_EDGE_1_PROFILES: 'watchtower' }, 'edge-1'), ['watchtower'])
  assert.equal(hostProfiles({ STACKYARD_PROFILES: 'dozzle' }, 'edge-1'), undefined)
})
