// compose/01-data/postgres/app-databases.sh against a real PostgreSQL server (a throw-away cluster on a private
// socket; the machine's PostgreSQL binaries, whatever their version ≥ 15): one database and one role per app,
// passwords that work and never show up in the server log, idempotent re-runs that apply a rotated password,
// clear failures on bad input. pgvector is not packaged here, so the extension list uses a contrib one.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../lib/core/paths.ts'

const SCRIPT = join(repoRoot, 'compose/01-data/postgres/app-databases.sh')
const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0
// Debian keeps the server binaries out of PATH (/usr/lib/postgresql/<version>/bin): use the newest when needed
if (!have('initdb') && existsSync('/usr/lib/postgresql')) {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  if (versions.length) process.env.PATH = `/usr/lib/postgresql/${versions[0]}/bin:${process.env.PATH}`
}
const missing = ['initdb', 'pg_ctl', 'psql'].filter((c) => !have(c))
const skip = missing.length ? `PostgreSQL binaries not on PATH (${missing.join(', ')}): apt-get install postgresql` : false

const root = process.getuid?.() === 0
const dir = mkdtempSync(join(tmpdir(), 'stackyard-pg-'))
const data = join(dir, 'data')
const log = join(dir, 'server.log')

/** Runs a server-side command as the postgres user when we are root (initdb refuses to run as root). */
function asServer(cmd: string, args: string[]) {
  const r = root ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' })
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`)
}

function runScript(env: Record<string, string>) {
  return spawnSync('bash', [SCRIPT], { encoding: 'utf8', env: { PATH: process.env.PATH!, PGHOST: dir, POSTGRES_USER: 'postgres', ...env } })
}

function psql(user: string, db: string, sql: string, password?: string) {
  return spawnSync('psql', ['--no-psqlrc', '-XAtq', '-U', user, '-d', db, '-c', sql], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH!, PGHOST: dir, ...(password ? { PGPASSWORD: password } : {}) },
  })
}

before(() => {
  if (skip) return
  if (root) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    chownSync(dir, uid, gid)
  }
  asServer('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--no-instructions'])
  // the superuser over the socket without a password (as in the postgres image); apps with their password
  writeFileSync(join(data, 'pg_hba.conf'), 'local all postgres trust\nlocal all all scram-sha-256\n')
  // log every statement: a password must still never appear
  asServer('pg_ctl', ['-D', data, '-l', log, '-w', '-o', `-c listen_addresses='' -k ${dir} -c log_statement=all -c log_min_error_statement=error`, 'start'])
})

after(() => {
  if (!skip) spawnSync(root ? 'runuser' : 'pg_ctl', root ? ['-u', 'postgres', '--', 'pg_ctl', '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop'])
  rmSync(dir, { recursive: true, force: true })
})

const PW = { n8n: 'n8nPasswordAAAAAAAAAAAAAAAAAAAAA', flowise: 'flowisePasswordBBBBBBBBBBBBBBBBB' }

test('creates one role and one database per app, owned by the role, with the extensions; passwords work', { skip }, () => {
  const r = runScript({ APP_DATABASES: 'n8n flowise', APP_EXTENSIONS: 'citext', N8N_DB_PASSWORD: PW.n8n, FLOWISE_DB_PASSWORD: PW.flowise })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'app-databases: database and role "n8n" ready\napp-databases: database and role "flowise" ready\n')
  assert.equal(r.stderr, '')
  for (const app of ['n8n', 'flowise'] as const) {
    const role = psql('postgres', 'postgres', `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = '${app}'`)
    assert.equal(role.stdout.trim(), 't|f|f|f', `${app}: a login role without privileges`)
    const db = psql('postgres', 'postgres', `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${app}'`)
    assert.equal(db.stdout.trim(), app, `${app}: database owned by its role`)
    const mine = psql(app, app, "SELECT current_user || ' ' || (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension)", PW[app])
    assert.equal(mine.status, 0, mine.stderr)
    assert.equal(mine.stdout.trim(), `${app} citext,plpgsql`)
  }
  const wrong = psql('n8n', 'n8n', 'SELECT 1', 'not-the-password')
  assert.notEqual(wrong.status, 0)
  assert.match(wrong.stderr, /password authentication failed/)
  const cross = psql('n8n', 'flowise', 'SELECT 1', PW.n8n)
  assert.notEqual(cross.status, 0, 'an app cannot connect to another app\'s database')
  assert.match(cross.stderr, /permission denied for database "flowise"/)
})

test('a re-run is idempotent, adds a new app, and applies a rotated password', { skip }, () => {
  const rotated = 'n8nRotatedCCCCCCCCCCCCCCCCCCCCCC'
  const r = runScript({ APP_DATABASES: 'n8n flowise openwebui', APP_EXTENSIONS: 'citext', N8N_DB_PASSWORD: rotated, FLOWISE_DB_PASSWORD: PW.flowise, OPENWEBUI_DB_PASSWORD: 'openwebuiPasswordDDDDDDDDDDDDDDD' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stderr, '', 'no "already exists" noise')
  assert.equal(psql('n8n', 'n8n', 'SELECT 1', rotated).stdout.trim(), '1')
  assert.notEqual(psql('n8n', 'n8n', 'SELECT 1', PW.n8n).status, 0, 'the old password no longer works')
  assert.equal(psql('flowise', 'flowise', 'SELECT 1', PW.flowise).stdout.trim(), '1', 'the other apps are untouched')
  assert.equal(psql('openwebui', 'openwebui', 'SELECT 1', 'openwebuiPasswordDDDDDDDDDDDDDDD').stdout.trim(), '1', 'the new app is ready')
  assert.equal(psql('postgres', 'postgres', "SELECT count(*) FROM pg_database WHERE datname IN ('n8n', 'flowise', 'openwebui')").stdout.trim(), '3')
})

test('no password reaches the server log, even with every statement logged', { skip }, () => {
  const text = readFileSync(log, 'utf8')
  assert.match(text, /statement: SET log_statement = 'none'/, 'statement logging was on')
  for (const pw of [PW.n8n, PW.flowise, 'n8nRotatedCCCCCCCCCCCCCCCCCCCCCC', 'openwebuiPasswordDDDDDDDDDDDDDDD'])
    assert.ok(!text.includes(pw), 'a password is in the server log')
  assert.doesNotMatch(text, /(CREATE|ALTER) ROLE/, 'the role statements were not logged at all')
})

test('bad input fails before touching the server, naming what to fix', { skip }, () => {
  const count = () => psql('postgres', 'postgres', 'SELECT count(*) FROM pg_roles').stdout.trim()
  const roles = count()
  const noPassword = runScript({ APP_DATABASES: 'newapp', APP_EXTENSIONS: '' })
  assert.equal(noPassword.status, 1)
  assert.equal(noPassword.stderr, 'app-databases: NEWAPP_DB_PASSWORD is not set in the postgres service\'s environment\n')
  const badName = runScript({ APP_DATABASES: 'Bad-Name', BAD_NAME_DB_PASSWORD: 'x' })
  assert.equal(badName.status, 1)
  assert.match(badName.stderr, /"Bad-Name" is not a valid name/)
  const badExt = runScript({ APP_DATABASES: 'n8n', APP_EXTENSIONS: 'vector;drop', N8N_DB_PASSWORD: 'x' })
  assert.equal(badExt.status, 1)
  assert.match(badExt.stderr, /APP_EXTENSIONS: "vector;drop" is not a valid extension name/)
  const empty = runScript({ APP_DATABASES: '  ' })
  assert.equal(empty.status, 1)
  assert.match(empty.stderr, /APP_DATABASES is empty/)
  assert.equal(count(), roles, 'nothing was created')
})
