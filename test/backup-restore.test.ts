// tasks/backup.ts and tasks/restore.ts end to end with the shipped stacks against the fake docker: what is dumped and
// how (compose exec -T, volume helpers, never a container name), the manifest and its checksums, secrets only with
// the flag, a restore into a fresh clone (env files back, every dump and volume reloaded in dependency order, every
// stack up), the round trip (a backup after the restore has the same checksums), a changed archive refused before
// anything is touched, encryption, the confirmation, dry runs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { tempRepo, type DockerCall, type TempRepo } from './helpers/repo.ts'
import { composeSub, isMutating, project, resetCalls } from './stack-fixtures.ts'
import { writeArchive } from '../lib/backup/archive.ts'
import type { Manifest } from '../lib/backup/manifest.ts'
import { restrictedPsqlInput } from '../lib/backup/psql-restrict.ts'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const N8N_DUMP = '--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE workflow (id integer, name text);\nCOPY workflow FROM stdin;\n1\tnightly\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n'
const EXTRA_DUMP = '--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE notes (body text);\n\n--\n-- PostgreSQL database dump complete\n--\n'
const CADDY_TAR = Buffer.from('certificates and keys (a tar stream in real life)\n')
const VALKEY_RDB = Buffer.concat([Buffer.from('REDIS0011'), Buffer.from([0xfa, 0x09, 0x00, 0xff, 0x80])])
const PASSPHRASE = 'a long passphrase for tests'

/** The shipped stacks, secrets generated, Infisical on, all stacks up (public: no local ports probed), data seeded. */
async function runningPlatform(): Promise<TempRepo> {
  const repo = tempRepo()
  assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
  repo.write('.env', repo.read('.env') + 'STACKYARD_PROFILES=infisical\nSTACKYARD_ENVIRONMENT=public\nDOMAIN=example.test\n', 0o600)
  const up = await repo.run('up.ts')
  assert.equal(up.code, 0, up.stderr)
  const state = repo.dockerState() as { volumes: Record<string, { content?: string; files?: Record<string, string> }>; data: Record<string, unknown> }
  state.data['stackyard-data/postgres'] = {
    databases: { postgres: { owner: 'postgres' }, n8n: { owner: 'n8n', dump: N8N_DUMP }, openwebui: { owner: 'openwebui' }, flowise: { owner: 'flowise' }, extra: { owner: 'n8n', dump: EXTRA_DUMP } },
  }
  state.volumes['stackyard-caddy-data'].content = CADDY_TAR.toString('base64')
  state.volumes['stackyard-valkey-data'].files = { 'dump.rdb': VALKEY_RDB.toString('base64') }
  repo.write('.test-docker/state.json', JSON.stringify(state))
  resetCalls(repo)
  return repo
}

const dumps = (calls: DockerCall[]) => calls.filter((c) => composeSub(c) === 'exec' || c.argv[0] === 'run')
const archives = (repo: TempRepo) => readdirSync(join(repo.root, 'backups')).filter((f) => f.startsWith('stackyard-backup-'))
function manifestOf(path: string): Manifest {
  return JSON.parse(execFileSync('tar', ['-xzOf', path, 'manifest.json'], { encoding: 'utf8' })) as Manifest
}

let a: TempRepo
let plain: string
let withSecrets: string

before(async () => {
  a = await runningPlatform()
})
after(() => a.cleanup())

test('backup: every stateful service dumped through compose, volumes through a read-only helper; manifest, checksums, images; no secrets without the flag; mode 0600', async () => {
  const r = await a.run('backup.ts', ['--json'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  plain = out.archive
  assert.equal(statSync(plain).mode & 0o777, 0o600)
  // recorded in the journal: its name, folder, time and the stateful services it holds
  const journal = JSON.parse(a.read('.stackyard/backups.json')) as { entries: Array<{ archive: string; dir: string; at: string; services: Array<{ stack: string; service: string }> }> }
  const entry = journal.entries.find((e) => e.archive === basename(plain))
  assert.ok(entry, 'the archive is in the journal')
  assert.equal(entry.dir, dirname(plain))
  assert.equal(entry.at, out.manifest.createdAt)
  assert.ok(entry.services.some((x) => x.stack === 'data' && x.service === 'postgres'))
  assert.match(plain, /\/backups\/stackyard-backup-\d{8}T\d{6}Z\.tar\.gz$/)
  const calls = dumps(a.dockerCalls())
  // databases: listed, then roles and each database, all inside the postgres service found by compose
  const data = calls.filter((c) => project(c) === 'stackyard-data').map((c) => c.argv.slice(c.argv.indexOf('exec')))
  // each database twice: its content, then its definition (--create: the only dump with its grants and settings)
  assert.deepEqual(data.map((c) => c.slice(0, 4)), [['exec', '-T', 'postgres', 'psql'], ['exec', '-T', 'postgres', 'pg_dumpall'], ...['extra', 'flowise', 'n8n', 'openwebui', 'postgres'].flatMap(() => [['exec', '-T', 'postgres', 'pg_dump'], ['exec', '-T', 'postgres', 'pg_dump']])])
  assert.deepEqual(data[1].slice(3), ['pg_dumpall', '-U', 'postgres', '-w', '--globals-only', '--no-role-passwords'])
  assert.deepEqual(data[6].slice(3), ['pg_dump', '-U', 'postgres', '-w', '-d', 'n8n', '--clean', '--if-exists'])
  assert.deepEqual(data[7].slice(3), ['pg_dump', '-U', 'postgres', '-w', '-d', 'n8n', '--create', '--schema-only'])
  const infra = calls.filter((c) => project(c) === 'stackyard-infra').map((c) => c.argv.slice(c.argv.indexOf('exec') + 2).join(' '))
  assert.ok(infra.includes('valkey valkey-cli --rdb -') && infra.includes('infisical-redis redis-cli --rdb -'), infra.join('\n'))
  assert.ok(infra.some((c) => c.startsWith('infisical-db pg_dump -U infisical -w -d infisical')), 'the user comes from POSTGRES_USER')
  const helpers = calls.filter((c) => c.argv[0] === 'run').map((c) => c.argv.join(' '))
  assert.deepEqual(helpers.sort(), ['caddy-data', 'flowise-data', 'n8n-data', 'openwebui-data'].map((v) => `run --rm --network none -v stackyard-${v}:/volume:ro debian:13.4-slim tar -C /volume --numeric-owner -cf - .`).sort())
  assert.ok(!a.dockerCalls().some((c) => c.argv[0] === 'exec' || c.argv.some((x) => /stackyard-\w+-\w+-1$/.test(x))), 'no container is addressed by a guessed name')
  // the manifest: what, from which image, sizes and checksums that match the files
  const m = manifestOf(plain)
  assert.equal(m.format, 'stackyard-backup')
  assert.deepEqual(m.stacks, ['infrastructure', 'data', 'compute', 'apps', 'ops'])
  assert.deepEqual(m.secrets, [])
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-x-'))
  try {
    execFileSync('tar', ['-xzf', plain, '-C', dir])
    assert.ok(!readdirSync(dir).includes('secrets'))
    for (const e of m.entries) {
      const bytes = readFileSync(join(dir, e.file))
      assert.equal(e.size, bytes.length, e.file)
      assert.equal(e.sha256, sha(bytes), e.file)
    }
    assert.equal(readFileSync(join(dir, 'data/data/postgres/db-n8n.sql'), 'utf8'), N8N_DUMP)
    assert.ok(readFileSync(join(dir, 'data/infrastructure/caddy/volume-caddy-data.tar')).equals(CADDY_TAR))
    assert.ok(readFileSync(join(dir, 'data/infrastructure/valkey/dump.rdb')).equals(VALKEY_RDB))
    assert.match(readFileSync(join(dir, 'data/data/postgres/globals.sql'), 'utf8'), /^DO \$stackyard\$ BEGIN CREATE ROLE n8n; EXCEPTION WHEN duplicate_object THEN NULL; END \$stackyard\$;$/m)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const n8n = m.entries.find((e) => e.file === 'data/data/postgres/db-n8n.sql')!
  assert.deepEqual({ ...n8n, sha256: undefined, imageId: undefined, digest: undefined }, { stack: 'data', service: 'postgres', project: 'stackyard-data', method: 'pg_dump', kind: 'database', file: 'data/data/postgres/db-n8n.sql', database: 'n8n', owner: 'n8n', user: 'postgres', image: 'pgvector/pgvector:0.8.6-pg16', size: Buffer.byteLength(N8N_DUMP), sha256: undefined, imageId: undefined, digest: undefined })
  assert.match(n8n.digest!, /^pgvector\/pgvector@sha256:[0-9a-f]{64}$/)
  assert.deepEqual(m.skipped.map((s) => `${s.stack}/${s.service}`).sort(), ['apps/searxng', 'compute/ollama-cpu', 'compute/ollama-gpu-amd', 'compute/ollama-gpu-nvidia', 'ops/portainer'])
  assert.match(m.skipped.find((s) => s.service === 'portainer')!.reason, /profile is off/)
})

test('backup --include-secrets: .env in the archive (mode 0600); --dry-run writes and dumps nothing; --keep prunes only archives of the same kind', async () => {
  resetCalls(a)
  const journalBefore = a.read('.stackyard/backups.json')
  const dry = await a.run('backup.ts', ['--include-secrets', '--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /\[dry-run\] write \.stackyard\/backups\.json/)
  assert.equal(a.read('.stackyard/backups.json'), journalBefore, '--dry-run leaves the journal as it is')
  assert.deepEqual(a.dockerCalls().filter(isMutating).map((c) => c.argv.join(' ')), [])
  assert.match(dry.stdout, /\[dry-run\] docker compose .* exec -T postgres pg_dump -U postgres -w -d '<each database>' --clean --if-exists/)
  assert.match(dry.stdout, /\[dry-run\] write backups\/stackyard-backup-\d{8}T\d{6}Z\.tar\.gz \(mode 0600, with \.env\)/)
  // a dry run with --keep into a folder that does not exist yet: previewed, the folder not created
  const dryKeep = await a.run('backup.ts', ['--dry-run', '--keep', '1', '--out', 'backups-new'])
  assert.equal(dryKeep.code, 0, dryKeep.stderr)
  assert.ok(!a.exists('backups-new'), '--dry-run creates no folder')
  // older archives: two of the same kind, one of another kind (a --stack backup), one foreign file
  const old = ['stackyard-backup-20200101T000000Z.tar.gz', 'stackyard-backup-20200102T000000Z.tar.gz.enc', 'stackyard-backup-data-20200101T000000Z.tar.gz', 'notes.txt']
  for (const f of old) a.write(`backups/${f}`, 'old')
  await new Promise((ok) => setTimeout(ok, 1100)) // a new second: the plain archive above keeps its name
  const r = await a.run('backup.ts', ['--include-secrets', '--keep', '2', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  withSecrets = out.archive
  assert.deepEqual(out.removed.sort(), ['stackyard-backup-20200101T000000Z.tar.gz', 'stackyard-backup-20200102T000000Z.tar.gz.enc'])
  assert.deepEqual(archives(a).sort(), [plain, withSecrets].map((p) => p.split('/').pop()).concat('stackyard-backup-data-20200101T000000Z.tar.gz').sort())
  assert.ok(readdirSync(join(a.root, 'backups')).includes('notes.txt'))
  const m = manifestOf(withSecrets)
  assert.deepEqual(m.secrets.map((s) => [s.name, s.file, s.sha256]), [['.env', 'secrets/.env', sha(readFileSync(join(a.root, '.env')))]])
  assert.equal(statSync(withSecrets).mode & 0o777, 0o600)
  assert.equal(execFileSync('tar', ['-xzOf', withSecrets, 'secrets/.env'], { encoding: 'utf8' }), a.read('.env'))
  assert.equal((await a.run('backup.ts', ['--keep', '0'])).code, 2)
})

test('restore into a fresh clone: .env back (0600), every dump and volume reloaded in dependency order, every stack up; a backup afterwards has the same checksums', async () => {
  const b = tempRepo()
  try {
    assert.ok(!b.exists('.env'))
    const refused = await b.run('restore.ts', [withSecrets])
    assert.equal(refused.code, 2, 'no terminal, no --yes')
    assert.match(refused.stderr, /pass --yes to confirm/)
    assert.deepEqual(b.dockerCalls(), [], 'verified and planned without touching docker')
    assert.match(refused.stderr, /data\/postgres\s+database n8n/)
    const r = await b.run('restore.ts', [withSecrets, '--yes'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(b.read('.env'), a.read('.env'))
    assert.equal(statSync(join(b.root, '.env')).mode & 0o777, 0o600)
    const m = manifestOf(withSecrets)
    const calls = b.dockerCalls()
    const at = (pred: (c: DockerCall) => boolean, what: string) => {
      const i = calls.findIndex(pred)
      assert.ok(i >= 0, `${what} was not run`)
      return i
    }
    const execOf = (svc: string, ...words: string[]) => (c: DockerCall) => composeSub(c) === 'exec' && c.argv[c.argv.indexOf('-T') + 1] === svc && words.every((w) => c.argv.includes(w))
    const fed = (e: Manifest['entries'][number]) => (c: DockerCall) => (c as DockerCall & { stdinSha256?: string }).stdinSha256 === e.sha256 && c.stdinBytes === e.size
    // a dump reaches psql behind a \restrict line of our own (backslash commands refused), then as the guard passes
    // it: byte for byte, but for pg_dump's own \restrict and \unrestrict lines, which ours replace
    const passed = new Map<string, string>()
    for (const e of m.entries.filter((x) => x.method === 'pg_dump')) {
      const guarded = await buffer(Readable.from([execFileSync('tar', ['-xzOf', withSecrets, e.file])]).pipe(restrictedPsqlInput('k')))
      passed.set(e.file, sha(guarded.subarray(guarded.indexOf(0x0a) + 1)))
    }
    const fedSql = (e: Manifest['entries'][number]) => (c: DockerCall) => {
      const x = c as DockerCall & { stdinHead?: string; stdinRestSha256?: string }
      return /^\\restrict [0-9a-f]{64}$/.test(x.stdinHead ?? '') && x.stdinRestSha256 === passed.get(e.file)
    }
    const entry = (file: string) => m.entries.find((e) => e.file === file)!
    const network = at((c) => c.argv.join(' ') === 'network create ai-network', 'network create')
    // PostgreSQL: started alone, roles, then a missing database created, then each dump fed on stdin
    const pgUp = at((c) => composeSub(c) === 'up' && project(c) === 'stackyard-data' && c.argv.includes('--no-deps') && c.argv.at(-1) === 'postgres', 'postgres started alone')
    const roles = at((c) => execOf('postgres', 'psql')(c) && fedSql(entry('data/data/postgres/globals.sql'))(c), 'roles')
    const create = at(execOf('postgres', '-c', 'CREATE DATABASE "extra" OWNER "n8n"'), 'CREATE DATABASE extra')
    const n8n = at((c) => execOf('postgres', '--single-transaction', 'n8n')(c) && fedSql(entry('data/data/postgres/db-n8n.sql'))(c), 'n8n dump')
    const extra = at((c) => execOf('postgres', 'extra')(c) && fedSql(entry('data/data/postgres/db-extra.sql'))(c), 'extra dump')
    assert.ok(network < pgUp && pgUp < roles && roles < create && create < extra && roles < n8n, 'order inside postgres')
    assert.ok(!calls.some(execOf('postgres', '-c', 'CREATE DATABASE "n8n" OWNER "n8n"')), 'existing databases are not created again')
    // volumes and snapshots: the container (and volume) created, then the helper fed the archive
    const caddyCreate = at((c) => composeSub(c) === 'up' && c.argv.includes('--no-start') && c.argv.at(-1) === 'caddy', 'caddy created')
    const caddy = at((c) => c.argv[0] === 'run' && c.argv.includes('stackyard-caddy-data:/volume') && fed(entry('data/infrastructure/caddy/volume-caddy-data.tar'))(c), 'caddy-data')
    assert.deepEqual(calls[caddy].argv.slice(-3), ['sh', '-c', 'find /volume -mindepth 1 -delete && tar -C /volume --numeric-owner -xpf -'])
    assert.ok(calls[caddy].argv.includes('-i') && !calls[caddy].argv.join(' ').includes(':ro'))
    const valkey = at((c) => c.argv[0] === 'run' && c.argv.includes('stackyard-valkey-data:/volume') && fed(entry('data/infrastructure/valkey/dump.rdb'))(c), 'valkey dump.rdb')
    // the file name reaches the helper as an argument ("$1"), never inside the script
    assert.deepEqual(calls[valkey].argv.slice(-5), ['sh', '-c', 'tmp="/volume/.$1.stackyard-restore" && cat > "$tmp" && chown --reference=/volume "$tmp" && mv -f "$tmp" "/volume/$1"', 'sh', 'dump.rdb'])
    const infisicalDb = at((c) => execOf('infisical-db', 'infisical', '--single-transaction')(c), 'infisical database')
    const flowise = at((c) => c.argv[0] === 'run' && c.argv.includes('stackyard-flowise-data:/volume'), 'flowise-data')
    // data stores before their consumers: infrastructure, then data, then apps; every stack started afterwards
    assert.ok(caddyCreate < caddy && Math.max(caddy, valkey, infisicalDb) < pgUp && n8n < flowise, 'stacks restored in dependency order')
    const lastRestore = Math.max(...calls.map((c, i) => (c.stdinBytes > 0 ? i : -1)))
    const ups = calls.map((c, i) => ({ c, i })).filter(({ c }) => composeSub(c) === 'up' && c.argv.includes('--wait') && !c.argv.includes('--no-deps'))
    assert.deepEqual(ups.map(({ c }) => project(c)).sort(), ['stackyard-apps', 'stackyard-compute', 'stackyard-data', 'stackyard-infra'], 'every stack with a service to run')
    assert.ok(ups.every(({ i }) => i > lastRestore), 'up --wait after the last restore')
    assert.match(r.stderr, new RegExp(`restored ${m.entries.length} files; infrastructure, data, compute, apps, ops up and healthy`))
    // the round trip: the same bytes come back out
    const again = await b.run('backup.ts', ['--json'])
    assert.equal(again.code, 0, again.stderr)
    const archive2 = JSON.parse(again.stdout).archive
    const m2 = manifestOf(archive2)
    // pg_dump picks a new random \restrict key for every dump (17.6+), so a dump is compared without its key lines;
    // every other file byte for byte
    const content = (archive: string, e: Manifest['entries'][number]) =>
      e.method === 'pg_dump' ? sha(execFileSync('tar', ['-xzOf', archive, e.file], { encoding: 'utf8' }).replace(/^\\(un)?restrict [A-Za-z0-9]+\n/gm, '')) : e.sha256
    assert.deepEqual(m2.entries.map((e) => [e.file, content(archive2, e)]), m.entries.map((e) => [e.file, content(withSecrets, e)]))
  } finally {
    b.cleanup()
  }
})

test('a changed, foreign or corrupt archive is refused (exit 2) before anything is touched', async () => {
  const b = tempRepo()
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-t-'))
  try {
    execFileSync('tar', ['-xzf', withSecrets, '-C', dir])
    const m = manifestOf(withSecrets)
    const files = ['manifest.json', ...m.entries.map((e) => e.file), ...m.secrets.map((s) => s.file)]
    // one database dump changed, its manifest entry not
    writeFileSync(join(dir, 'data/data/postgres/db-n8n.sql'), N8N_DUMP.replace('nightly', 'hourly!'))
    await writeArchive(join(dir, 'changed.tar.gz'), files.map((f) => ({ name: f, source: join(dir, f) })))
    // an extra file the manifest does not list (and nothing else wrong: the archive is refused at its first problem)
    writeFileSync(join(dir, 'data/data/postgres/db-n8n.sql'), N8N_DUMP)
    writeFileSync(join(dir, 'extra.sh'), 'echo hi\n')
    await writeArchive(join(dir, 'extra.tar.gz'), [...files, 'extra.sh'].map((f) => ({ name: f, source: join(dir, f) })))
    // flipped bytes in the middle of the compressed stream
    const bytes = readFileSync(withSecrets)
    for (let i = 200; i < 210; i++) bytes[i] ^= 0xff
    writeFileSync(join(dir, 'corrupt.tar.gz'), bytes)
    writeFileSync(join(dir, 'not.tar.gz'), 'just text\n')
    const cases: Array<[string, RegExp]> = [
      ['changed.tar.gz', /failed verification .*data\/data\/postgres\/db-n8n\.sql: (\d+ bytes|sha256)/],
      ['extra.tar.gz', /extra\.sh: not in the manifest/],
      ['corrupt.tar.gz', /not a valid|corrupt|incomplete/],
      ['not.tar.gz', /not a valid gzip-compressed backup archive/],
    ]
    for (const [file, why] of cases) {
      const r = await b.run('restore.ts', [join(dir, file), '--yes'])
      assert.equal(r.code, 2, `${file}: ${r.stderr}`)
      assert.match(r.stderr, why, file)
      assert.match(r.stderr, /nothing was changed/, file)
    }
    assert.deepEqual(b.dockerCalls(), [], 'not one docker call')
    assert.ok(!b.exists('.env'), 'no secret file written')
    assert.ok(!b.exists('.stackyard'), 'nothing unpacked anywhere: the archive is verified while it streams')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    b.cleanup()
  }
})

/** `withSecrets` unpacked, changed, and packed again with consistent checksums: what someone who can write a plain archive can make. */
async function forge(dir: string, name: string, change: (m: Manifest, files: Map<string, Buffer>) => void, lie?: (m: Manifest) => void): Promise<string> {
  const from = mkdtempSync(join(tmpdir(), 'stackyard-forge-'))
  try {
    execFileSync('tar', ['-xzf', withSecrets, '-C', from])
    const m = manifestOf(withSecrets)
    const files = new Map([...m.entries, ...m.secrets].map((e) => [e.file, readFileSync(join(from, e.file))]))
    change(m, files)
    for (const e of [...m.entries, ...m.secrets]) {
      const bytes = files.get(e.file)
      if (bytes) Object.assign(e, { size: bytes.length, sha256: sha(bytes) })
    }
    lie?.(m)
    const out = join(dir, name)
    await writeArchive(out, [{ name: 'manifest.json', source: Buffer.from(JSON.stringify(m, null, 2)) }, ...[...m.entries, ...m.secrets].map((e) => ({ name: e.file, source: files.get(e.file)! }))])
    return out
  } finally {
    rmSync(from, { recursive: true, force: true })
  }
}

test('a forged plain archive runs nothing: a shell command or a traversal in a manifest name is refused (exit 2) before any docker call; a good one uses constant helper scripts', async () => {
  const b = tempRepo()
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-t-'))
  try {
    const valkey = (m: Manifest) => m.entries.find((e) => e.service === 'valkey')!
    const cases: Array<[string, (m: Manifest, f: Map<string, Buffer>) => void, RegExp]> = [
      ['target.tar.gz', (m) => (valkey(m).target = 'dump.rdb;touch${IFS}/volume/INJECTED;#'), /valkey: target "dump\.rdb;touch\$\{IFS\}\/volume\/INJECTED;#" should be "dump\.rdb"/],
      ['traversal.tar.gz', (m) => (valkey(m).target = '../../../etc/cron.d/x'), /target "\.\.\/\.\.\/\.\.\/etc\/cron\.d\/x" should be "dump\.rdb"/],
      ['volume.tar.gz', (m) => (m.entries.find((e) => e.service === 'caddy')!.volume = 'stackyard-data_postgres-data'), /caddy: volume "stackyard-data_postgres-data" is not one it backs up/],
      ['database.tar.gz', (m) => (m.entries.find((e) => e.database === 'n8n')!.database = 'host=evil.example dbname=n8n'), /database "host=evil\.example dbname=n8n" is not a database name/],
    ]
    for (const [name, change, why] of cases) {
      const r = await b.run('restore.ts', [await forge(dir, name, change), '--yes'])
      assert.equal(r.code, 2, `${name}: ${r.stderr}`)
      assert.match(r.stderr, why, name)
      assert.match(r.stderr, /nothing was changed/, name)
    }
    assert.deepEqual(b.dockerCalls(), [], 'not one docker call')
    assert.ok(!b.exists('.env') && !b.exists('.stackyard'), 'nothing written')
    // every helper script a real restore runs is one of the constant scripts: no manifest value inside any of them
    const r = await b.run('restore.ts', [withSecrets, '--yes', '--stack', 'infrastructure'])
    assert.equal(r.code, 0, r.stderr)
    const scripts = new Set(b.dockerCalls().filter((c) => c.argv[0] === 'run').map((c) => c.argv[c.argv.indexOf('-c') + 1]))
    assert.deepEqual([...scripts].sort(), ['find /volume -mindepth 1 -delete && tar -C /volume --numeric-owner -xpf -', 'tmp="/volume/.$1.stackyard-restore" && cat > "$tmp" && chown --reference=/volume "$tmp" && mv -f "$tmp" "/volume/$1"'])
    // a dump with a psql shell escape: psql reads it with backslash commands restricted and refuses (exit 1, named)
    const shell = await forge(dir, 'shell.tar.gz', (m, f) => f.set('data/data/postgres/db-n8n.sql', Buffer.from(N8N_DUMP + '\\! touch /var/lib/postgresql/INJECTED\n')))
    const refused = await b.run('restore.ts', [shell, '--yes', '--stack', 'data'])
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, /data\/postgres: database n8n failed \(exit 3\): backslash commands are restricted/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    b.cleanup()
  }
})

test('an archive whose .env would not parse, or holds settings the platform refuses, is refused (exit 2) before anything is written', async () => {
  const b = tempRepo()
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-t-'))
  try {
    b.write('.env', 'KEEP=me\n', 0o600)
    const cases: Array<[string, string, RegExp]> = [
      ['quote.tar.gz', 'A="never closed\nB=2\n', /the archive's \.env:1:3: unterminated quoted value.*Compose could not read it after the restore/],
      ['required.tar.gz', 'A=${NOT_SET_ANYWHERE:?must be set}\n', /the archive's \.env:1:3: required variable NOT_SET_ANYWHERE/],
      ['settings.tar.gz', 'STACKYARD_ENVIRONMENT=staging\n', /with its secret files, .*"staging" is not private or public/],
    ]
    for (const [name, env, why] of cases) {
      const r = await b.run('restore.ts', [await forge(dir, name, (_m, f) => f.set('secrets/.env', Buffer.from(env))), '--yes'])
      assert.equal(r.code, 2, `${name}: ${r.stderr}`)
      assert.match(r.stderr, why, name)
      assert.equal(b.read('.env'), 'KEEP=me\n', `${name}: .env untouched`)
      assert.ok(!b.exists('.env.bak'), `${name}: no backup made either`)
    }
    // --no-secrets keeps this .env, which lacks the secrets the stacks require: refused as the real run would be
    const lacking = await b.run('restore.ts', [join(dir, 'quote.tar.gz'), '--yes', '--no-secrets', '--dry-run'])
    assert.equal(lacking.code, 2, lacking.stderr)
    assert.match(lacking.stderr, /cannot be stopped or started after this restore: .*POSTGRES_PASSWORD.* would be unset/)
    assert.match(lacking.stderr, /drop --no-secrets/)
    // with them, --no-secrets restores the data and leaves .env as it is
    assert.equal((await b.run('secrets.ts', ['generate'])).code, 0)
    const env = b.read('.env')
    const r = await b.run('restore.ts', [join(dir, 'quote.tar.gz'), '--yes', '--no-secrets', '--dry-run'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(b.read('.env'), env)
    assert.deepEqual(b.dockerCalls().filter(isMutating), [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
    b.cleanup()
  }
})

test('an expanding archive is refused while it streams: no file grows past 8 MiB during the run (RLIMIT_FSIZE), exit 2; a directory or a FIFO as ARCHIVE: exit 2 at once', async () => {
  const b = tempRepo()
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-t-'))
  try {
    // 195 MB of zeros listed as the caddy volume with a wrong sha256: the archive is ~200 kB
    const big = 195 * 1024 * 1024
    const zeros = Buffer.alloc(big)
    const caddy = (m: Manifest) => m.entries.find((e) => e.service === 'caddy')!
    const lying = await forge(dir, 'lying.tar.gz', (m, f) => f.set(caddy(m).file, zeros), (m) => (caddy(m).sha256 = 'f'.repeat(64)))
    assert.ok(statSync(lying).size < 1024 * 1024, `a small archive (${statSync(lying).size} bytes)`)
    const r = await b.run('restore.ts', [lying, '--yes'], { maxFileBytes: 8 * 1024 * 1024 })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /failed verification .*volume-caddy-data\.tar: sha256/)
    assert.deepEqual(b.dockerCalls(), [])
    assert.ok(!b.exists('.env') && !b.exists('.stackyard'), 'nothing written')
    // not a file: refused without reading (a FIFO with no writer would hang a plain open)
    execFileSync('mkfifo', [join(dir, 'fifo.tar.gz')])
    for (const [arg, why] of [[dir, /is a directory, not an archive file/], [join(dir, 'fifo.tar.gz'), /is a FIFO, not an archive file/]] as const) {
      const x = await b.run('restore.ts', [arg, '--yes'], { timeoutMs: 20_000 })
      assert.equal(x.code, 2, x.stderr)
      assert.match(x.stderr, why)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    b.cleanup()
  }
})

test('encrypted backup: the passphrase from the environment only, never in argv or output; a wrong one is refused (exit 2); the right one restores', async () => {
  const noPass = await a.run('backup.ts', ['--stack', 'data', '--encrypt'], { env: { STACKYARD_BACKUP_PASSPHRASE: undefined } })
  assert.equal(noPass.code, 2)
  assert.match(noPass.stderr, /set STACKYARD_BACKUP_PASSPHRASE/)
  resetCalls(a)
  const r = await a.run('backup.ts', ['--stack', 'data', '--include-secrets', '--encrypt', '--json'], { env: { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE } })
  assert.equal(r.code, 0, r.stderr)
  const enc = JSON.parse(r.stdout).archive as string
  assert.match(enc, /stackyard-backup-data-\d{8}T\d{6}Z\.tar\.gz\.enc$/)
  assert.equal(readFileSync(enc).subarray(0, 8).toString(), 'STKYBAK1')
  assert.throws(() => execFileSync('tar', ['-tzf', enc], { stdio: 'pipe' }), 'not readable as a plain tar.gz')
  assert.ok(!a.dockerCalls().some((c) => c.argv.join(' ').includes(PASSPHRASE)) && !(r.stdout + r.stderr).includes(PASSPHRASE))
  const b = tempRepo()
  try {
    const wrong = await b.run('restore.ts', [enc, '--yes'], { env: { STACKYARD_BACKUP_PASSPHRASE: 'not the passphrase at all' } })
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /passphrase is wrong or the archive was changed/)
    assert.deepEqual(b.dockerCalls(), [])
    const dry = await b.run('restore.ts', [enc, '--dry-run'], { env: { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE } })
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /decrypted and authenticated/)
    assert.match(dry.stdout, /\[dry-run\] write \.env \(mode 0600\)/)
    assert.deepEqual(b.dockerCalls().filter(isMutating), [], '--dry-run changes nothing')
    assert.ok(!b.exists('.env'))
    const ok = await b.run('restore.ts', [enc, '--yes', '--stack', 'data'], { env: { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE } })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(b.read('.env'), a.read('.env'))
  } finally {
    b.cleanup()
  }
})

test('backup --verify: usage errors are exit 2 before any docker call (no archive, a missing one, backup-only flags, an archive without --verify)', async () => {
  const b = tempRepo()
  try {
    for (const args of [['--verify'], ['--verify', 'backups/nope.tar.gz'], ['--verify', '--keep', '2'], ['backups/x.tar.gz']]) {
      b.resetDocker()
      const r = await b.run('backup.ts', args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.deepEqual(b.dockerCalls(), [], args.join(' '))
    }
  } finally {
    b.cleanup()
  }
})

test('backup refuses when a database or cache to dump is not running (exit 1, names it), and writes nothing', async () => {
  const state = a.dockerState() as { projects: Record<string, { services: Record<string, { state: string }> }> }
  const saved = JSON.stringify(state)
  state.projects['stackyard-infra'].services.valkey.state = 'exited'
  a.write('.test-docker/state.json', JSON.stringify(state))
  const before = archives(a)
  try {
    const r = await a.run('backup.ts')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /1 service to dump is not running: infrastructure\/valkey \(exited\)/)
    assert.deepEqual(archives(a), before)
    assert.deepEqual(readdirSync(join(a.root, 'backups')).filter((f) => f.startsWith('.')), [], 'no temp files left')
  } finally {
    a.write('.test-docker/state.json', saved)
  }
})
