// End to end through the task files (push, pull, status) in a temporary repository against the fake Infisical.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { parseDotenv, serializeEntry } from '../lib/env/dotenv.ts'
import { infisicalRepo } from './infisical-helpers.ts'

const HOSTILE: Record<string, string> = {
  H_SINGLE: "it's",
  H_DOUBLE: 'say "hi"',
  H_BOTH: `'"'"`,
  H_DOLLAR: 'pa$$word $HOME',
  H_REF: '${NOT_A_VAR:-default} and ${OTHER}',
  H_HASH: 'a #not-a-comment',
  H_BACKSLASH: 'C:\\path\\ and trailing \\',
  H_NEWLINES: 'line1\nline2\r\nline3',
  H_TRAILING_NL: 'ends with newline\n',
  H_UNICODE: 'ünïcödé ✓ 密码 🔑',
  H_EMPTY: '',
  H_EQUALS: 'a=b=c',
  H_TAB_INSIDE: 'a\tb',
}
const hostileLines = Object.entries(HOSTILE).map(([k, v]) => serializeEntry(k, v))
const include = `INFISICAL_SYNC_INCLUDE=${Object.keys(HOSTILE).join(',')}`

test('push plans, writes in batches, and a second push makes zero writes', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=cf-token-value', 'CLOUDFLARE_TUNNEL_TOKEN=tunnel-token-value', 'DOMAIN=example.com'] })
  t.after(() => r.cleanup())
  r.fake.seed({ ONLY_REMOTE: 'x' })
  const first = await r.run('push')
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /\+ create\s+CLOUDFLARE_API_TOKEN/)
  assert.match(first.stdout, /only in Infisical\s+ONLY_REMOTE/)
  assert.ok(!first.stdout.includes('cf-token-value') && !first.stderr.includes('cf-token-value'), 'values are never printed')
  assert.deepEqual(r.fake.secrets(), { CLOUDFLARE_API_TOKEN: 'cf-token-value', CLOUDFLARE_TUNNEL_TOKEN: 'tunnel-token-value', ONLY_REMOTE: 'x' })
  assert.equal(r.fake.writes().length, 1, 'two creates in one batch request')
  assert.ok(!('DOMAIN' in r.fake.secrets()), 'undeclared keys are not pushed')
  assert.ok(!('INFISICAL_CLIENT_SECRET' in r.fake.secrets()), 'the Infisical credentials are not pushed')
  assert.equal(r.mode('.stackyard/infisical-sync.json'), 0o600)

  const second = await r.run('push', ['--json'])
  assert.equal(second.code, 0, second.stderr)
  assert.equal(r.fake.writes().length, 1, 'the second push makes zero writes')
  const j = JSON.parse(second.stdout)
  assert.deepEqual(j.counts, { create: 0, update: 0, delete: 0, unchanged: 2, onlyInInfisical: 1, kept: 0 })
  assert.equal(j.requests, 0)

  const pruned = await r.run('push', ['--prune'])
  assert.equal(pruned.code, 0, pruned.stderr)
  assert.ok(!('ONLY_REMOTE' in r.fake.secrets()), '--prune deletes what exists only in Infisical')
})

test('hostile values survive push → pull byte for byte (.env.infisical and --into .env)', async (t) => {
  const a = await infisicalRepo({ envLines: [include, ...hostileLines] })
  t.after(() => a.cleanup())
  const pushed = await a.run('push')
  assert.equal(pushed.code, 0, pushed.stderr)
  assert.match(pushed.stderr, /H_REF contains \$\{…\}: Infisical treats it as a secret reference/)
  assert.deepEqual(a.fake.secrets(), Object.fromEntries(Object.entries(HOSTILE).sort(([x], [y]) => x.localeCompare(y))))

  // a second machine: only the connection in .env
  const before = a.repo.read('.env')
  a.repo.write('.env', [`INFISICAL_CLIENT_ID=${a.fake.clientId}`, `INFISICAL_CLIENT_SECRET=${a.fake.clientSecret}`, `INFISICAL_PROJECT_ID=${a.fake.projectId}`, '# keep me', 'LOCAL_ONLY=1'].join('\n') + '\n', 0o600)
  const pulled = await a.run('pull')
  assert.equal(pulled.code, 0, pulled.stderr)
  assert.equal(a.mode('.env.infisical'), 0o600)
  assert.deepEqual(parseDotenv(a.repo.read('.env.infisical')), HOSTILE)

  const into = await a.run('pull', ['--into', '.env'])
  assert.equal(into.code, 0, into.stderr)
  const env = parseDotenv(a.repo.read('.env'))
  for (const [k, v] of Object.entries(HOSTILE)) assert.equal(env[k], v, k)
  assert.equal(env.LOCAL_ONLY, '1', 'local-only keys are never deleted')
  assert.match(a.repo.read('.env'), /# keep me/)
  assert.ok(a.repo.exists('.env.bak'))
  assert.ok(before.length > 0)

  const status = await a.run('status', ['--json'])
  assert.equal(status.code, 0, status.stdout + status.stderr)
  assert.equal(JSON.parse(status.stdout).inSync, true)
})

test('values the server would trim are flagged before anything is written; --allow-trim stores them trimmed', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN="  padded  "', 'CLOUDFLARE_TUNNEL_TOKEN=fine'] })
  t.after(() => r.cleanup())
  const refused = await r.run('push')
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /CLOUDFLARE_API_TOKEN has leading or trailing whitespace, which Infisical would drop; nothing was pushed/)
  assert.deepEqual(r.fake.writes(), [])
  assert.match(refused.stdout, /CLOUDFLARE_API_TOKEN/, 'the plan is shown before the refusal')
  assert.doesNotMatch(refused.stdout + refused.stderr, /padded/, 'values are never printed')
  const allowed = await r.run('push', ['--allow-trim'])
  assert.equal(allowed.code, 0, allowed.stderr)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'padded')
  const status = await r.run('status', ['--all'])
  assert.equal(status.code, 0, 'compared as the server stores it: no drift forever')
  assert.match(status.stdout, /same\s+CLOUDFLARE_API_TOKEN\s+local value has surrounding whitespace/)
})

test('status: only in .env / only in Infisical / different, exit 1, never a value; exit 0 once in sync', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=local-value-1', 'CLOUDFLARE_TUNNEL_TOKEN=tunnel-local'] })
  t.after(() => r.cleanup())
  r.fake.seed({ CLOUDFLARE_API_TOKEN: 'remote-value-2', EXTRA_REMOTE: 'remote-only-value' })
  const s = await r.run('status', ['--json'])
  assert.equal(s.code, 1)
  const j = JSON.parse(s.stdout)
  assert.equal(j.inSync, false)
  assert.deepEqual(j.keys.map((k: { key: string; state: string }) => [k.key, k.state]), [
    ['CLOUDFLARE_API_TOKEN', 'different'],
    ['CLOUDFLARE_TUNNEL_TOKEN', 'only-local'],
    ['EXTRA_REMOTE', 'only-remote'],
  ])
  for (const v of ['local-value-1', 'remote-value-2', 'remote-only-value', 'tunnel-local']) assert.ok(!(s.stdout + s.stderr).includes(v), `${v} leaked`)
  const text = await r.run('status')
  assert.equal(text.code, 1)
  assert.match(text.stderr, /not in sync: 0 same, 1 different, 1 only in \.env, 1 only in Infisical/)
})

test('three-way: a secret changed in Infisical since the last sync is kept by push, taken by pull --into .env', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=v1'] })
  t.after(() => r.cleanup())
  assert.equal((await r.run('push')).code, 0)
  r.fake.seed({ CLOUDFLARE_API_TOKEN: 'rotated-in-the-ui' })
  const status = await r.run('status')
  assert.match(status.stdout, /different\s+CLOUDFLARE_API_TOKEN\s+changed in Infisical since the last sync/)
  const push = await r.run('push')
  assert.equal(push.code, 1)
  assert.match(push.stderr, /kept CLOUDFLARE_API_TOKEN: changed in Infisical since the last sync/)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'rotated-in-the-ui', 'the remote change was not overwritten')
  const pull = await r.run('pull', ['--into', '.env'])
  assert.equal(pull.code, 0, pull.stderr)
  assert.equal(parseDotenv(r.repo.read('.env')).CLOUDFLARE_API_TOKEN, 'rotated-in-the-ui')
  assert.equal((await r.run('status')).code, 0)
  // and the other way round: a local edit is pushed, and pull keeps it
  r.repo.write('.env', r.repo.read('.env').replace('rotated-in-the-ui', 'edited-locally'))
  const keep = await r.run('pull', ['--into', '.env'])
  assert.equal(keep.code, 1)
  assert.match(keep.stderr, /kept CLOUDFLARE_API_TOKEN in \.env: changed locally/)
  assert.equal((await r.run('push')).code, 0)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'edited-locally')
})

test('--dry-run sends no write and writes no file', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=abc-secret'] })
  t.after(() => r.cleanup())
  const d = await r.run('push', ['--dry-run'])
  assert.equal(d.code, 0, d.stderr)
  assert.match(d.stdout, /\[dry-run\] POST .*\/api\/v3\/secrets\/batch\/raw \(create 1: CLOUDFLARE_API_TOKEN\)/)
  assert.ok(!d.stdout.includes('abc-secret'))
  assert.deepEqual(r.fake.writes(), [])
  assert.ok(!r.repo.exists('.stackyard/infisical-sync.json'))
  r.fake.seed({ X: '1' })
  const p = await r.run('pull', ['--dry-run'])
  assert.equal(p.code, 0, p.stderr)
  assert.ok(!r.repo.exists('.env.infisical'))
})

test('--allow-trim does not stick: once stored trimmed, a later push without it has nothing to write and exits 0 (issue 14 #19)', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN="  padded  "'] })
  t.after(() => r.cleanup())
  assert.equal((await r.run('push', ['--allow-trim'])).code, 0)
  const again = await r.run('push')
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /Infisical already matches \.env/)
  assert.equal((await r.run('status')).code, 0)
  // a changed value with whitespace is a write again: refused again without the flag
  r.repo.write('.env', r.repo.read('.env').replace('  padded  ', '  padded-2  '))
  const refused = await r.run('push')
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /CLOUDFLARE_API_TOKEN has leading or trailing whitespace/)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'padded')
})

test('the "changed in Infisical" memory follows the data, not the URL: another address of the same server still keeps a remote change; a version 1 state file is migrated (issue 14 #20)', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=v1'] })
  t.after(() => r.cleanup())
  const other = r.fake.url.replace('127.0.0.1', 'localhost')
  assert.equal((await r.run('push')).code, 0)
  r.fake.seed({ CLOUDFLARE_API_TOKEN: 'rotated-in-the-ui' })
  const push = await r.run('push', [], { env: { INFISICAL_API_URL: other } })
  assert.equal(push.code, 1, push.stderr)
  assert.match(push.stderr, /kept CLOUDFLARE_API_TOKEN: changed in Infisical since the last sync/)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'rotated-in-the-ui')
  // a state file written by the previous version, keyed by the first URL, read through the second one
  const salt = 'ab'.repeat(32)
  const fp = (v: string) => createHmac('sha256', Buffer.from(salt, 'hex')).update(v, 'utf8').digest('hex').slice(0, 32)
  r.repo.write('.stackyard/infisical-sync.json', JSON.stringify({ version: 1, salt, scopes: { [`${r.fake.url}|${r.fake.projectId}|dev|/`]: { CLOUDFLARE_API_TOKEN: fp('v1') } } }), 0o600)
  const migrated = await r.run('push', [], { env: { INFISICAL_API_URL: other } })
  assert.equal(migrated.code, 1, migrated.stderr)
  assert.equal(r.fake.secrets().CLOUDFLARE_API_TOKEN, 'rotated-in-the-ui', 'not overwritten')
})

test('a key changed on both sides is reported as such by push and pull, not as changed on one side (issue 14 #22)', async (t) => {
  const r = await infisicalRepo({ envLines: ['CLOUDFLARE_API_TOKEN=v1'] })
  t.after(() => r.cleanup())
  assert.equal((await r.run('push')).code, 0)
  r.fake.seed({ CLOUDFLARE_API_TOKEN: 'rotated-in-the-ui' })
  r.repo.write('.env', r.repo.read('.env').replace('=v1', '=edited-locally'))
  const push = await r.run('push')
  assert.equal(push.code, 1)
  assert.match(push.stderr, /kept CLOUDFLARE_API_TOKEN: changed on both sides since the last sync/)
  assert.doesNotMatch(push.stderr, /changed in Infisical/)
  const pull = await r.run('pull', ['--into', '.env'])
  assert.equal(pull.code, 1)
  assert.match(pull.stderr, /kept CLOUDFLARE_API_TOKEN in \.env: changed on both sides since the last sync/)
  assert.doesNotMatch(pull.stderr, /changed locally/)
})

test('push of values over 1 MiB in total is cut into bodies the server accepts; one value over the limit is refused naming it (issue 14 #18)', async (t) => {
  const keys = Array.from({ length: 20 }, (_, i) => `BIG_${i}`)
  const r = await infisicalRepo({ envLines: [`INFISICAL_SYNC_INCLUDE=${keys.join(',')},HUGE`, ...keys.map((k, i) => `${k}=${String.fromCharCode(97 + i).repeat(64 * 1024)}`)] })
  t.after(() => r.cleanup())
  const push = await r.run('push')
  assert.equal(push.code, 0, push.stderr.slice(-2000))
  assert.match(push.stderr, /pushed: 20 created, 0 updated, 0 deleted in 2 request\(s\)/)
  assert.equal(Object.keys(r.fake.secrets()).length, 20)
  r.repo.write('.env', r.repo.read('.env') + `HUGE=${'z'.repeat(1024 * 1024)}\n`, 0o600)
  const writes = r.fake.writes().length
  const huge = await r.run('push')
  assert.equal(huge.code, 2)
  assert.match(huge.stderr, /✖ \.env: HUGE is too large to push: Infisical refuses request bodies over 1048576 bytes \(1 MiB\)/)
  assert.equal(r.fake.writes().length, writes, 'nothing was sent')
})

test('status names the Infisical scope in clear: the folder path and environment are settings, not secrets', async (t) => {
  const r = await infisicalRepo({ envLines: ['INFISICAL_ENVIRONMENT=staging', 'INFISICAL_SECRET_PATH=/staging', 'N8N_ENCRYPTION_KEY=n8n-key-value-1234'] })
  t.after(() => r.cleanup())
  const status = await r.run('status')
  assert.equal(status.code, 0, status.stderr)
  assert.match(status.stdout + status.stderr, /in sync with Infisical \(staging\/staging\)/)
  assert.doesNotMatch(status.stdout + status.stderr, /••••|n8n-key-value-1234/)
})
