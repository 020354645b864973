// lib/backup/psql-restrict.ts: a dump is fed to psql with backslash commands restricted, pg_dump's own \restrict/\unrestrict
// pair replaced by ours, every other byte kept; checked as bytes, at any chunk boundary, and against a real psql and
// PostgreSQL server when the machine has them (a throw-away cluster on a private socket): a forged dump's \! runs
// nothing, a real pg_dump (whose output carries \restrict) restores. Also backup's completeness check on real dumps.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { restrictedPsqlInput } from '../lib/backup/psql-restrict.ts'
import { PG_COMPLETE } from '../lib/backup/methods.ts'

async function guarded(input: string | Buffer, chunk = 1 << 16, key = 'K'.repeat(8)): Promise<Buffer> {
  const bytes = Buffer.from(input)
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk))
  const out: Buffer[] = []
  for await (const c of Readable.from(parts).pipe(restrictedPsqlInput(key))) out.push(c as Buffer)
  return Buffer.concat(out)
}

const DUMP = '--\n-- PostgreSQL database dump\n--\n\n\\restrict abcDEF123\n\n-- Dumped from database version 16.10\n\nSET client_encoding = \'UTF8\';\nCREATE TABLE t (a text);\nCOPY public.t (a) FROM stdin;\n\\restrict data-looking\n\\\\x\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abcDEF123\n\n'
const WANT = '\\restrict KKKKKKKK\n--\n-- PostgreSQL database dump\n--\n\n\n-- Dumped from database version 16.10\n\nSET client_encoding = \'UTF8\';\nCREATE TABLE t (a text);\nCOPY public.t (a) FROM stdin;\n\\restrict data-looking\n\\\\x\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n\n'

test('our \\restrict first; the dump\'s own pair dropped; every other byte kept, at any chunk size', async () => {
  for (const chunk of [1, 2, 7, 64, 1 << 16]) assert.equal((await guarded(DUMP, chunk)).toString(), WANT, `chunk ${chunk}`)
  // pg_dumpall puts its \unrestrict before the closing comment
  assert.equal((await guarded('--\n\\restrict A1\nCREATE ROLE x;\n\n\\unrestrict A1\n\n--\n-- PostgreSQL database cluster dump complete\n--\n')).toString(), '\\restrict KKKKKKKK\n--\nCREATE ROLE x;\n\n\n--\n-- PostgreSQL database cluster dump complete\n--\n')
  // anything else stays for psql to refuse: a \unrestrict with statements after it, a second \restrict, a \! anywhere
  const forged = 'SELECT 1;\n\\unrestrict K2\n\\! touch /tmp/x\nSELECT 2; \\! id\n\\restrict K3\n'
  assert.equal((await guarded(forged, 3)).toString(), `\\restrict KKKKKKKK\n${forged}`)
  // a long line streams through unchanged (never held whole), non-UTF-8 bytes included
  const long = Buffer.concat([Buffer.from('INSERT INTO t VALUES (\''), Buffer.alloc(100_000, 0xe9), Buffer.from('\');\n')])
  assert.ok((await guarded(long, 1000)).equals(Buffer.concat([Buffer.from('\\restrict KKKKKKKK\n'), long])))
  // a random key by default
  const out: Buffer[] = []
  for await (const c of Readable.from([Buffer.from('SELECT 1;\n')]).pipe(restrictedPsqlInput())) out.push(c as Buffer)
  assert.match(Buffer.concat(out).toString(), /^\\restrict [0-9a-f]{64}\nSELECT 1;\n$/)
})

// ---- against a real psql and server, when installed --------------------------------------------------------------
const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0
if (!have('initdb') && existsSync('/usr/lib/postgresql')) {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  if (versions.length) process.env.PATH = `/usr/lib/postgresql/${versions[0]}/bin:${process.env.PATH}`
}
const missing = ['initdb', 'pg_ctl', 'psql', 'pg_dump'].filter((c) => !have(c))
const restrictable = !missing.length && /\\restrict/.test(spawnSync('psql', ['--help=commands'], { encoding: 'utf8' }).stdout)
const skip = missing.length ? `PostgreSQL binaries not on PATH (${missing.join(', ')}): apt-get install postgresql` : !restrictable ? 'this psql predates \\restrict (PostgreSQL 17.6, 16.10, 15.14)' : false
const root = process.getuid?.() === 0
const dir = mkdtempSync(join(tmpdir(), 'stackyard-pgr-'))
const data = join(dir, 'data')
function asServer(cmd: string, args: string[]) {
  const r = root ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' })
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`)
}
const env = { PATH: process.env.PATH!, PGHOST: dir, PGUSER: 'postgres' }
const psql = (db: string, input: Buffer | string) => spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '--single-transaction'], { input, encoding: 'utf8', env })

before(() => {
  if (skip) return
  if (root) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()))
  asServer('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--no-instructions'])
  asServer('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', `-c listen_addresses='' -k ${dir}`, 'start'])
})
after(() => {
  if (!skip) spawnSync(root ? 'runuser' : 'pg_ctl', root ? ['-u', 'postgres', '--', 'pg_ctl', '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop'])
  rmSync(dir, { recursive: true, force: true })
})

test('real psql: a forged dump\'s \\! runs nothing (it does without the guard); a real pg_dump restores through it', { skip }, async () => {
  const marker = join(dir, 'INJECTED')
  const forged = `CREATE TABLE IF NOT EXISTS f (a int);\n\\! touch ${marker}\n`
  assert.equal(psql('postgres', forged).status, 0, 'the unguarded dump runs the shell command')
  assert.ok(existsSync(marker))
  rmSync(marker)
  const r = psql('postgres', await guarded(forged))
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /backslash commands are restricted/)
  assert.ok(!existsSync(marker), 'the shell command did not run')
  // a real dump (with its own \restrict pair, COPY data, a function body with backslashes) round-trips
  const seed = "CREATE TABLE notes (id int, body text); INSERT INTO notes VALUES (1, E'line\\\\one\\ttab'), (2, '\\restrict x'); CREATE FUNCTION f(t text) RETURNS bool LANGUAGE sql AS $$ SELECT t ~ '\\d+' $$;"
  assert.equal(spawnSync('createdb', ['src'], { env }).status, 0)
  assert.equal(spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'src', '-c', seed], { env, encoding: 'utf8' }).status, 0)
  const dump = spawnSync('pg_dump', ['-w', '-d', 'src', '--clean', '--if-exists'], { env, encoding: 'buffer' }).stdout
  assert.match(dump.toString(), /^\\restrict /m, 'this pg_dump writes \\restrict')
  assert.match(dump.toString().slice(-400), PG_COMPLETE, 'and backup takes it as complete')
  assert.equal(spawnSync('createdb', ['dst'], { env }).status, 0)
  const load = psql('dst', await guarded(dump))
  assert.equal(load.status, 0, load.stderr)
  const rows = spawnSync('psql', ['-X', '-At', '-d', 'dst', '-c', 'SELECT id, body FROM notes ORDER BY id'], { env, encoding: 'utf8' }).stdout
  assert.equal(rows, 'line\\one\ttab'.replace(/^/, '1|') + '\n2|\\restrict x\n')
  const globals = spawnSync('pg_dumpall', ['-w', '--globals-only', '--no-role-passwords'], { env, encoding: 'buffer' }).stdout
  assert.match(globals.toString().slice(-400), PG_COMPLETE)
})
