// End to end: the task files under tasks/00-infrastructure/cloudflare/ run in a temporary copy of the repo
// (a fixture stack with protected, public and bypass routes) against the loopback fake API.
import { test, before, after } from 'node:test'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { startFakeCloudflare, ALL_PERMS, type FakeCloudflare } from './fake-cloudflare.ts'

const STACK = `name: stackyard-cftest
x-stackyard:
  description: fixture stack for the Cloudflare tasks
services:
  cfdemo-web:
    image: nginx:1.27.3
    x-route: { subdomain: cfweb, port: 80, local_port: 18001, access: protected }
  cfdemo-pub:
    image: nginx:1.27.3
    x-route: { subdomain: cfpub, port: 80, local_port: 18002, access: public }
  cfdemo-hook:
    image: nginx:1.27.3
    x-route: { subdomain: cfhook, port: 80, local_port: 18003, access: bypass }
networks:
  default:
    external: true
    name: ai-network
`

let fake: FakeCloudflare
let repo: TempRepo
let account: string
let zone: string
let token: string

const T = (name: string) => `00-infrastructure/cloudflare/${name}.ts`
const env = (extra: Record<string, string> = {}) =>
  [
    'STACKYARD_ENVIRONMENT=public',
    'DOMAIN=example.com',
    `CLOUDFLARE_API_TOKEN=${extra.CLOUDFLARE_API_TOKEN ?? token}`,
    `CLOUDFLARE_API_BASE_URL=${fake.url}`,
    'CLOUDFLARE_ACCESS_EMAILS=me@example.com',
    ...Object.entries(extra).filter(([k]) => k !== 'CLOUDFLARE_API_TOKEN').map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n')
const MEMORY = '.stackyard/cloudflare.json'
const nonGet = (from: number) => fake.writes(from).map((r) => `${r.method} ${r.path}`)

before(async () => {
  fake = await startFakeCloudflare()
  account = fake.account()
  zone = fake.zone('example.com', account)
  fake.org(account, 'myteam.cloudflareaccess.com')
  token = fake.token()
  repo = tempRepo({ files: { 'compose/90-cftest/docker-compose.yml': STACK } })
  repo.write('.env', env(), 0o600)
})
after(async () => {
  repo.cleanup()
  await fake.close()
})

test('tunnel: creates the remotely-managed tunnel, stores its token in .env without printing it; a re-run writes nothing', async () => {
  const envAtStart = repo.read('.env')
  const dry = await repo.run(T('tunnel'), ['--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stderr, /would create the remotely-managed tunnel "stackyard-example\.com"/)
  assert.match(dry.stdout, /\[dry-run\] POST .*\/cfd_tunnel \{name, config_src\}/)
  assert.deepEqual(fake.writes(), [])
  assert.equal(repo.read('.env'), envAtStart)

  const r = await repo.run(T('tunnel'), [])
  assert.equal(r.code, 0, r.stderr)
  const t = fake.state.tunnels.find((x) => x.name === 'stackyard-example.com')
  assert.ok(t, 'tunnel created with the default name')
  assert.equal(t.config_src, 'cloudflare')
  assert.match(repo.read('.env'), new RegExp(`CLOUDFLARE_TUNNEL_TOKEN="?${t.token}"?`))
  assert.ok(!r.stdout.includes(t.token) && !r.stderr.includes(t.token), 'the token is never printed')
  assert.match(r.stderr, /no connector is running/)

  const envBefore = repo.read('.env')
  const from = fake.server.requests.length
  const again = await repo.run(T('tunnel'), ['--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(nonGet(from), [])
  assert.equal(repo.read('.env'), envBefore)
  const data = JSON.parse(again.stdout)
  assert.deepEqual([data.tunnel.id, data.created, data.tokenStored], [t.id, false, false])
})

test('apply --dry-run reads everything, shows the plan and sends no write', async () => {
  const envBefore = repo.read('.env')
  const memoryBefore = repo.exists(MEMORY) ? repo.read(MEMORY) : undefined
  const from = fake.server.requests.length
  const r = await repo.run(T('apply'), ['--dry-run'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(nonGet(from), [])
  assert.match(r.stdout, /\+ cfweb\.example\.com: self-hosted app/)
  assert.match(r.stdout, /\+ cfpub\.example\.com: → http:\/\/caddy:80/)
  assert.match(r.stdout, /\[dry-run\] PUT .*\/configurations/)
  assert.match(r.stderr, /cfhook\.example\.com is declared access: bypass/)
  assert.equal(repo.read('.env'), envBefore)
  assert.equal(repo.exists(MEMORY) ? repo.read(MEMORY) : undefined, memoryBefore, '--dry-run leaves the remembered IDs alone')
})

test('apply: Access, ingress and DNS from the registry, AUDs recorded in .env; a second run makes no write request', async () => {
  const r = await repo.run(T('apply'), ['--json'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.applied, true)
  const app = fake.state.apps.find((a) => a.domain === 'cfweb.example.com')!
  assert.ok(app)
  assert.equal(fake.state.apps.some((a) => a.domain === 'cfpub.example.com'), false)
  const t = fake.state.tunnels[0]
  const rules = (t.config as { ingress: Array<Record<string, any>> }).ingress
  assert.deepEqual(rules.find((x) => x.hostname === 'cfweb.example.com')!.originRequest.access, { required: true, teamName: 'myteam', audTag: [app.aud] })
  assert.equal(rules.at(-1)!.service, 'http_status:404')
  const dotenv = repo.read('.env')
  assert.match(dotenv, new RegExp(`CFWEB_ACCESS_AUD="?${app.aud}"?`))
  assert.match(dotenv, /CLOUDFLARE_AUTH_DOMAIN="?myteam\.cloudflareaccess\.com"?/)
  for (const h of ['cfweb', 'cfpub', 'cfhook']) assert.ok(fake.state.records.some((x) => x.name === `${h}.example.com` && x.content === `${t.id}.cfargotunnel.com` && x.proxied))

  // the IDs found are remembered (0600, IDs only), so the next run reads only what can change
  const memory = JSON.parse(repo.read(MEMORY))
  assert.deepEqual(memory.ids, { accountId: account, zoneId: zone, zoneName: 'example.com', tunnelId: t.id, authDomain: 'myteam.cloudflareaccess.com' })
  assert.equal(statSync(join(repo.root, MEMORY)).mode & 0o777, 0o600)
  assert.ok(!repo.read(MEMORY).includes(token) && !repo.read(MEMORY).includes(t.token), 'no secret in the state file')

  const from = fake.server.requests.length
  const again = await repo.run(T('apply'), [])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(nonGet(from), [])
  assert.deepEqual(fake.server.requests.slice(from).map((x) => x.path.replace(/^.*\/(configurations|access\/apps|dns_records)$/, '$1')), ['configurations', 'access/apps', 'dns_records'], 'a converged apply costs 3 reads')
  assert.match(again.stderr, /nothing to change/)
  assert.equal(repo.read('.env'), dotenv)
  for (const task of ['routes', 'dns', 'access']) {
    const f = fake.server.requests.length
    const x = await repo.run(T(task), [])
    assert.equal(x.code, 0, `${task}: ${x.stderr}`)
    assert.deepEqual(nonGet(f), [], `${task} writes nothing on a converged platform`)
  }
})

test('aud-tag prints the AUD (data on stdout) for a subdomain or a hostname', async () => {
  const app = fake.state.apps.find((a) => a.domain === 'cfweb.example.com')!
  const r = await repo.run(T('aud-tag'), ['cfweb'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, `${app.aud}\n`)
  const j = await repo.run(T('aud-tag'), ['cfweb.example.com', '--json'])
  assert.equal(JSON.parse(j.stdout).aud, app.aud)
  const none = await repo.run(T('aud-tag'), ['cfpub'])
  assert.equal(none.code, 1)
  assert.match(none.stderr, /no Cloudflare Access application protects cfpub\.example\.com/)
})

test('dns --check exits 0 when every host is right and 1 listing what is missing or wrong', async () => {
  const ok = await repo.run(T('dns'), ['--check'])
  assert.equal(ok.code, 0, ok.stderr)
  const rec = fake.state.records.find((x) => x.name === 'cfpub.example.com')!
  fake.state.records.splice(fake.state.records.indexOf(rec), 1)
  const hook = fake.state.records.find((x) => x.name === 'cfhook.example.com')!
  hook.proxied = false
  const bad = await repo.run(T('dns'), ['--check', '--json'])
  assert.equal(bad.code, 1)
  const states = Object.fromEntries(JSON.parse(bad.stdout).hosts.map((h: { host: string; state: string }) => [h.host, h.state]))
  assert.deepEqual([states['cfpub.example.com'], states['cfhook.example.com'], states['cfweb.example.com']], ['missing', 'unproxied', 'ok'])
  const from = fake.server.requests.length
  const fix = await repo.run(T('dns'), [])
  assert.equal(fix.code, 0, fix.stderr)
  // the create and the update go as one batch
  assert.deepEqual(nonGet(from), [`POST /client/v4/zones/${zone}/dns_records/batch`])
  const body = fake.writes(from)[0].body as { posts: Array<{ name: string }>; puts: Array<{ id: string; proxied: boolean }> }
  assert.deepEqual([body.posts.map((x) => x.name), body.puts.map((x) => [x.id, x.proxied])], [['cfpub.example.com'], [[hook.id, true]]])
  assert.equal((await repo.run(T('dns'), ['--check'])).code, 0)
})

test('check: one stance; --fix never touches the SSL mode; --purge is a mutation behind --dry-run', async () => {
  const fine = await repo.run(T('check'), [])
  assert.equal(fine.code, 0, fine.stderr)
  fake.setting(zone, 'ssl', 'flexible')
  fake.setting(zone, 'security_level', 'under_attack')
  fake.setting(zone, 'always_use_https', 'off')
  const warn = await repo.run(T('check'), ['--json'])
  assert.equal(warn.code, 0, warn.stderr)
  const f = Object.fromEntries(JSON.parse(warn.stdout).findings.map((x: { id: string; level: string }) => [x.id, x.level]))
  assert.deepEqual([f.ssl, f.security_level, f.always_use_https], ['warn', 'warn', 'warn'])

  let from = fake.server.requests.length
  const fix = await repo.run(T('check'), ['--fix'])
  assert.equal(fix.code, 0, fix.stderr)
  assert.deepEqual(nonGet(from).map((x) => x.split('/').at(-1)).sort(), ['always_use_https', 'security_level'])
  assert.equal(fake.state.settings.get(zone)!.get('ssl')!.value, 'flexible', 'the SSL mode is never changed')
  from = fake.server.requests.length
  assert.equal((await repo.run(T('check'), ['--fix'])).code, 0)
  assert.deepEqual(nonGet(from), [], '--fix converges')

  fake.setting(zone, 'ssl', 'off')
  const off = await repo.run(T('check'), [])
  assert.equal(off.code, 1)
  assert.match(off.stdout, /SSL is off/)
  fake.setting(zone, 'ssl', 'strict')

  from = fake.server.requests.length
  assert.equal((await repo.run(T('check'), ['--purge', '--dry-run'])).code, 0)
  assert.deepEqual(nonGet(from), [])
  assert.equal((await repo.run(T('check'), ['--purge'])).code, 0)
  assert.deepEqual(fake.state.purges, [zone])
})

test('clear errors: a bad token, a missing permission, an unknown domain, no credentials', async () => {
  const saved = repo.read('.env')
  try {
    repo.write('.env', env({ CLOUDFLARE_API_TOKEN: 'bogus-token-value' }), 0o600)
    const bad = await repo.run(T('routes'), [])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /the Cloudflare API token \(CLOUDFLARE_API_TOKEN\) is invalid, expired or disabled/)

    repo.write('.env', env({ CLOUDFLARE_API_TOKEN: fake.token(ALL_PERMS.filter((p) => p !== 'access:read')) }), 0o600)
    const perm = await repo.run(T('access'), [])
    assert.equal(perm.code, 1)
    assert.match(perm.stderr, /the Cloudflare API token lacks the permission "Account · Access: Apps and Policies · Read" \(needed for GET \/accounts\/[0-9a-f]+\/access\/apps\)/)

    repo.write('.env', env().replace('DOMAIN=example.com', 'DOMAIN=nowhere.test'), 0o600)
    const unknown = await repo.run(T('dns'), ['--check'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no Cloudflare zone for DOMAIN nowhere\.test is visible to this token/)

    repo.write('.env', 'STACKYARD_ENVIRONMENT=public\nDOMAIN=example.com\n', 0o600)
    const none = await repo.run(T('apply'), ['--dry-run'], { env: { CLOUDFLARE_API_TOKEN: undefined } })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no Cloudflare credentials: set CLOUDFLARE_API_TOKEN/)
  } finally {
    repo.write('.env', saved, 0o600)
  }
})
