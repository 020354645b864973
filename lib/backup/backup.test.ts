// Backup and restore building blocks: the restore order (stacks by their `after`, data stores before the services
// that depend on them, roles before databases), what a restore stops, archive names and retention, the roles rewrite,
// the manifest index, every manifest name checked against the registry, the secret files checked before they are
// written, x-backup validation, and the --context runner wrapper.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { checkSecretFiles, dependencyOrder, planRestore } from './restore.ts'
import { archiveName, retention } from './retention.ts'
import { archivePath, databaseSettings, isDatabaseName, parseDatabaseList, pg, quoteIdent, tolerantRoles, volume } from './methods.ts'
import { manifestIndex, type Manifest, type ManifestEntry } from './manifest.ts'
import { configuredContexts, hostProfiles, hostStacks, hostStacksVariable, withDockerContext } from '../core/docker-context.ts'
import type { Runner } from '../core/exec.ts'

const registry = loadRegistry(repoRoot)
const sha = 'a'.repeat(64)
const entry = (stack: string, service: string, kind: ManifestEntry['kind'], extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  stack, service, project: registry.stack(stack).project, method: kind === 'globals' || kind === 'database' || kind === 'settings' ? 'pg_dump' : kind, kind,
  file: kind === 'globals' ? archivePath.globals(stack, service) : kind === 'database' || kind === 'settings' ? archivePath[kind](stack, service, extra.database ?? 'x') : kind === 'snapshot' ? archivePath.snapshot(stack, service, extra.target ?? 'dump.rdb') : archivePath.volume(stack, service, extra.volume ?? 'x'),
  size: 1, sha256: sha, image: 'img:1', ...extra,
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
  assert.deepEqual(plan.services.filter((s) => s.user).map((s) => `${s.service}:${s.user}`), ['infisical-db:infisical', 'postgres:postgres'], 'the superuser comes from the registry')
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
  assert.deepEqual(dependencyOrder(registry.stack('infrastructure'), ['infisical-backend', 'infisical-redis', 'infisical-db']), ['infisical-db', 'infisical-redis', 'infisical-backend'])
  // infisical-backend declares no x-backup: a manifest entry for it is refused, not restored
  const m = manifest([entry('infrastructure', 'infisical-backend', 'volume', { volume: 'x' }), entry('infrastructure', 'infisical-redis', 'snapshot', { volume: 'infisical-redis-data', target: 'dump.rdb' }), entry('infrastructure', 'infisical-db', 'globals')], ['infrastructure'])
  assert.throws(() => planRestore(registry, m, [], { secrets: false }), /infrastructure\/infisical-backend: a volume backup, but the service declares no x-backup/)
})

test('restore: every manifest name is checked against the registry before use (no value from a forged manifest reaches a command)', () => {
  const good = () => ({ ...entry('infrastructure', 'valkey', 'snapshot', { volume: 'valkey-data', target: 'dump.rdb' }) })
  assert.doesNotThrow(() => planRestore(registry, manifest([good()], ['infrastructure']), [], { secrets: false }))
  const refused: Array<[string, Partial<ManifestEntry>, RegExp]> = [
    ['a shell command in the target', { target: 'dump.rdb;touch${IFS}/volume/INJECTED;#' }, /valkey: target "dump\.rdb;touch\$\{IFS\}\/volume\/INJECTED;#" should be "dump\.rdb" \(x-backup\.file\)/],
    ['a traversal in the target', { target: '../../etc/passwd' }, /target "\.\.\/\.\.\/etc\/passwd" should be "dump\.rdb"/],
    ['another volume', { volume: 'caddy-data' }, /volume "caddy-data" should be "valkey-data"/],
    ['another file in the archive', { file: 'data/infrastructure/valkey/../caddy/x' }, /file "data\/infrastructure\/valkey\/\.\.\/caddy\/x" should be "data\/infrastructure\/valkey\/dump\.rdb"/],
    ['another method', { method: 'volume', kind: 'volume', volume: 'valkey-data' }, /a volume backup, but its x-backup method is snapshot/],
  ]
  for (const [what, change, why] of refused) assert.throws(() => planRestore(registry, manifest([{ ...good(), ...change }], ['infrastructure']), [], { secrets: false }), (e: Error) => e.name === 'ArchiveError' && why.test(e.message), what)
  const db = (database: string) => manifest([entry('data', 'postgres', 'database', { database })], ['data'])
  assert.doesNotThrow(() => planRestore(registry, db('my db'), [], { secrets: false }))
  for (const name of ['host=evil.example user=postgres', 'postgresql://evil.example/db', 'x'.repeat(64)])
    assert.throws(() => planRestore(registry, db(name), [], { secrets: false }), /is not a database name this backup can have written/, name)
  assert.throws(() => planRestore(registry, manifest([entry('apps', 'n8n', 'volume', { volume: 'caddy-data' })], ['apps']), [], { secrets: false }), /apps\/n8n: volume "caddy-data" is not one it backs up \(n8n-data\)/)
  assert.throws(() => planRestore(registry, { ...manifest([], ['data']), secrets: [{ name: '.env', file: 'data/x', size: 1, sha256: sha }] }, [], { secrets: true }), /secret file \.env: file "data\/x" should be "secrets\/\.env"/)
  for (const bad of ['', 'a=b', 'postgres://x', '\u0000']) assert.equal(isDatabaseName(bad), false, JSON.stringify(bad))
  // the helper's script is a constant; the file name is an argument ("$1"), and only a plain name
  assert.deepEqual(volume.putFile('dump.rdb').slice(0, 2).concat(volume.putFile('dump.rdb').slice(3)), ['sh', '-c', 'sh', 'dump.rdb'])
  assert.equal(volume.putFile('dump.rdb')[2], volume.putFile('other.rdb')[2])
  assert.throws(() => volume.putFile('a;b'))
  assert.throws(() => volume.putFile('..'))
})

test('restore: the archive\'s secret files are checked as Compose would read them before anything is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-secrets-'))
  try {
    const m = manifest([], ['data'])
    const plan = planRestore(registry, m, [], { secrets: true })
    const check = (text: string | Buffer, shell: Record<string, string> = {}) => checkSecretFiles(dir, plan, { path: '/x/backup.tar.gz', secrets: new Map([['secrets/.env', Buffer.from(text)]]) }, shell)
    assert.doesNotThrow(() => check('A=1\nB="two words"\n'))
    assert.throws(() => check('A="never closed\n'), (e: Error) => e.name === 'ArchiveError' && /backup\.tar\.gz: the archive's \.env:1:3: unterminated quoted value.*Compose could not read it after the restore/.test(e.message))
    assert.throws(() => check('A=${MISSING:?set it}\n'), /the archive's \.env:1/)
    assert.doesNotThrow(() => check('A=${MISSING:?set it}\n', { MISSING: 'from the shell' }))
    assert.throws(() => check('STACKYARD_ENVIRONMENT=staging\n'), /with its secret files, .*"staging" is not private or public/)
    assert.throws(() => check(Buffer.from([0x41, 0x3d, 0xff, 0x0a])), /its \.env is not UTF-8 text/)
    // with the files that stay: an .env.infisical here that needs a key the archive's .env no longer has
    // (it is a layer only while Infisical is configured: the secret-layer rule of env-layers)
    writeFileSync(join(dir, '.env.infisical'), 'X=${NEEDED:?}\n')
    const identity = 'INFISICAL_CLIENT_ID=i\nINFISICAL_CLIENT_SECRET=s\nINFISICAL_PROJECT_ID=p\n'
    assert.throws(() => check(identity + 'A=1\n'), /\.env\.infisical:1/)
    assert.doesNotThrow(() => check(identity + 'NEEDED=1\n'))
    assert.doesNotThrow(() => check('A=1\n'), 'not configured: the export is no layer')
    assert.doesNotThrow(() => checkSecretFiles(dir, planRestore(registry, m, [], { secrets: false }), { path: '/x/backup.tar.gz', secrets: new Map() }, {}))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
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

test('manifest index: every listed file with its size and sha256; a file listed twice, or the manifest itself, refused', () => {
  const m = manifest([entry('data', 'postgres', 'globals', { size: 3, sha256: 'b'.repeat(64) }), entry('data', 'postgres', 'database', { database: 'n8n', size: 3, sha256: 'c'.repeat(64) })])
  const listed = manifestIndex('x.tar.gz').read(Buffer.from(JSON.stringify(m)))
  assert.deepEqual([...listed], [['data/data/postgres/globals.sql', { size: 3, sha256: 'b'.repeat(64) }], ['data/data/postgres/db-n8n.sql', { size: 3, sha256: 'c'.repeat(64) }], ['secrets/.env', { size: 1, sha256: sha }]])
  assert.throws(() => manifestIndex('x.tar.gz').read(Buffer.from(JSON.stringify({ ...m, entries: [...m.entries, m.entries[0]] }))), /lists data\/data\/postgres\/globals\.sql twice/)
  assert.throws(() => manifestIndex('x.tar.gz').read(Buffer.from(JSON.stringify({ ...m, entries: [{ ...m.entries[0], file: 'manifest.json' }] }))), /lists manifest\.json twice/)
  // control characters (terminal escapes, newlines) are refused in every text of the manifest
  assert.throws(() => manifestIndex('x.tar.gz').read(Buffer.from(JSON.stringify({ ...m, entries: [{ ...m.entries[0], image: 'img\u001b]0;owned\u0007' }] }))), /entries\.0\.image: holds control characters/)
  assert.throws(() => manifestIndex('x.tar.gz').read(Buffer.from(JSON.stringify({ ...m, secrets: [{ ...m.secrets[0], size: 2 * 1024 * 1024 }] }))), /secrets\.0\.size/)
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

test('database-level grants and settings: taken from a --create dump as re-runnable SQL, reset first, statements whole', () => {
  // the shape pg_dump 17 prints (\\restrict, SET lines, \\connect between sections)
  const definition = [
    '\\restrict k1', 'SET statement_timeout = 0;', "CREATE DATABASE appdb WITH TEMPLATE = template0 ENCODING = 'UTF8';", 'ALTER DATABASE appdb OWNER TO app;',
    '\\unrestrict k1', '\\connect appdb', "COMMENT ON DATABASE appdb IS 'two', 'lines;", "and a quote''s end';",
    "ALTER DATABASE appdb SET work_mem TO '8MB';", "ALTER DATABASE appdb SET search_path TO 'public', '$user';",
    "ALTER ROLE app IN DATABASE appdb SET statement_timeout TO '5s';", 'REVOKE CONNECT,TEMPORARY ON DATABASE appdb FROM PUBLIC;',
    'GRANT CONNECT ON DATABASE appdb TO reader;', 'CREATE TABLE not_this (id int);', '-- PostgreSQL database dump complete', '\\unrestrict k2', '',
  ].join('\n')
  assert.equal(databaseSettings(definition, 'appdb'), [
    'ALTER DATABASE "appdb" RESET ALL;', 'ALTER DATABASE appdb OWNER TO app;', "COMMENT ON DATABASE appdb IS 'two', 'lines;\nand a quote''s end';",
    "ALTER DATABASE appdb SET work_mem TO '8MB';", "ALTER DATABASE appdb SET search_path TO 'public', '$user';",
    "ALTER ROLE app IN DATABASE appdb SET statement_timeout TO '5s';", 'REVOKE CONNECT,TEMPORARY ON DATABASE appdb FROM PUBLIC;', 'GRANT CONNECT ON DATABASE appdb TO reader;',
  ].join('\n') + '\n')
  assert.equal(databaseSettings('CREATE DATABASE x;\n', 'x'), 'ALTER DATABASE "x" RESET ALL;\n')
  assert.equal(archivePath.settings('data', 'postgres', 'n8n'), 'data/data/postgres/db-n8n.settings.sql')
})
