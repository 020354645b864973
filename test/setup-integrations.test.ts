// The setup wizard end to end with the loopback fakes: the public environment with an API token (tunnel, ingress, DNS,
// Access through the fake Cloudflare), the bundled Infisical (started, bootstrapped, pushed, exported) and an external
// one (checked, pushed) through the fake Infisical. Each converges: a second run sends no write and changes no file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { setupRepo } from './setup-helpers.ts'
import { tempRepo } from './helpers/repo.ts'
import { startFakeCloudflare } from './fake-cloudflare.ts'
import { startFakeInfisical } from './fake-infisical.ts'
import { composeSub, project, resetCalls } from './stack-fixtures.ts'

const upOf = (calls: ReturnType<ReturnType<typeof tempRepo>['dockerCalls']>, name: string) => calls.filter((c) => composeSub(c) === 'up' && project(c) === name)
const profilesOf = (argv: string[]) => argv.flatMap((a, i) => (argv[i - 1] === '--profile' ? [a] : []))

test('public with an API token: the plan is shown first, then the tunnel (its token into .env), Access, ingress and DNS; cloudflared starts; a re-run writes nothing', async (t) => {
  const fake = await startFakeCloudflare()
  const repo = setupRepo()
  t.after(async () => {
    repo.cleanup()
    await fake.close()
  })
  const account = fake.account()
  const zone = fake.zone('example.com', account)
  fake.org(account, 'team.cloudflareaccess.com')
  const env = { CLOUDFLARE_API_TOKEN: fake.token(), CLOUDFLARE_API_BASE_URL: fake.url }
  const args = ['--environment', 'public', '--domain', 'example.com', '--cloudflare', 'api-token', '--access-emails', 'me@example.com', '--yes']
  const dry = await repo.run('setup.ts', [...args, '--dry-run'], { env })
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /Cloudflare: the tunnel "stackyard-example\.com" does not exist yet/)
  assert.equal(fake.writes().length, 0, '--dry-run reads Cloudflare for the review and sends no write')
  assert.ok(!repo.exists('.env'), '--dry-run writes no .env')
  const r = await repo.run('setup.ts', args, { env })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /Cloudflare: the tunnel "stackyard-example\.com" does not exist yet/)
  for (const out of [dry, r]) assert.ok(!out.stdout.includes(env.CLOUDFLARE_API_TOKEN) && !out.stderr.includes(env.CLOUDFLARE_API_TOKEN), 'the API token from the shell is never printed')
  assert.ok(r.stdout.indexOf('does not exist yet') < r.stdout.indexOf('Tunnel ingress (tunnel stackyard-example.com'), 'the review comes before the apply and its plan')
  const tunnel = fake.state.tunnels.find((x) => x.name === 'stackyard-example.com')!
  const dot = parseDotenv(repo.read('.env'))
  assert.equal(dot.CLOUDFLARE_TUNNEL_TOKEN, tunnel.token)
  assert.equal(dot.CLOUDFLARE_API_TOKEN, env.CLOUDFLARE_API_TOKEN)
  assert.equal(dot.CLOUDFLARE_ACCESS_EMAILS, 'me@example.com')
  assert.ok(dot.N8N_ACCESS_AUD, 'the AUD of a protected route is recorded')
  assert.ok(!r.stdout.includes(tunnel.token) && !r.stderr.includes(tunnel.token), 'the tunnel token is never printed')
  const names = fake.state.records.filter((x) => x.zone === zone).map((x) => x.name).sort()
  assert.deepEqual(names, ['flowise.example.com', 'n8n.example.com', 'ollama.example.com', 'openwebui.example.com', 'searxng.example.com'])
  assert.deepEqual(profilesOf(upOf(repo.dockerCalls(), 'stackyard-infra')[0].argv), ['tunnel'], 'cloudflared starts with the stored token')
  assert.match(r.stdout, /apps\/n8n\s+https:\/\/n8n\.example\.com\s+protected/)

  const before = repo.read('.env')
  const writes = fake.writes().length
  resetCalls(repo)
  const again = await repo.run('setup.ts', [], { env })
  assert.equal(again.code, 0, again.stderr)
  assert.equal(fake.writes().length, writes, 'no Cloudflare write on the re-run')
  assert.equal(repo.read('.env'), before)
  assert.match(again.stdout, /tunnel "stackyard-example\.com" exists/)
})

test('the bundled Infisical: the profile on, the stack started, the instance bootstrapped, the secrets pushed, then every stack with the export; a re-run writes nothing', async (t) => {
  const fake = await startFakeInfisical({ convention: 'upstream', seedIdentity: false, initialized: false })
  const repo = setupRepo()
  t.after(async () => {
    repo.cleanup()
    await fake.close()
  })
  const password = 'a-very-long-admin-password'
  const env = { INFISICAL_API_URL: fake.url, INFISICAL_ADMIN_PASSWORD: password }
  const r = await repo.run('setup.ts', ['--yes', '--infisical', 'bundled', '--infisical-email', 'admin@example.com'], { env })
  assert.equal(r.code, 0, r.stderr)
  assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password))
  const dot = parseDotenv(repo.read('.env'))
  assert.equal(dot.STACKYARD_PROFILES, 'infisical')
  assert.ok(!('INFISICAL_ADMIN_PASSWORD' in dot), 'the admin password is not stored')
  const [identity] = fake.identities()
  assert.equal(dot.INFISICAL_CLIENT_ID, identity.clientId)
  assert.deepEqual(identity.projects, [dot.INFISICAL_PROJECT_ID])
  const pushed = fake.secrets('dev', '/', dot.INFISICAL_PROJECT_ID)
  assert.equal(pushed.N8N_ENCRYPTION_KEY, dot.N8N_ENCRYPTION_KEY, 'declared secrets pushed')
  assert.ok(!('INFISICAL_ENCRYPTION_KEY' in pushed), 'the instance\'s own keys stay local')
  const infra = upOf(repo.dockerCalls(), 'stackyard-infra')
  assert.equal(infra.length, 2, 'the Infisical stack first, then again with every stack')
  assert.deepEqual(profilesOf(infra[0].argv), ['infisical'])
  assert.ok(repo.exists('.env.infisical'), 'up exported the secret layer')
  assert.ok(upOf(repo.dockerCalls(), 'stackyard-apps')[0].argv.some((a) => a.endsWith('/.env.infisical')))
  assert.match(r.stderr, /Infisical: http:\/\/localhost:8020, log in as admin@example\.com/)

  const before = repo.read('.env')
  const writes = fake.writes().length
  const again = await repo.run('setup.ts', [], { env: { INFISICAL_API_URL: fake.url } })
  assert.equal(again.code, 0, again.stderr)
  assert.equal(repo.read('.env'), before)
  assert.equal(fake.writes().length, writes, 'nothing pushed again')
  assert.equal(fake.identities().length, 1, 'not bootstrapped twice')
})

test('an external Infisical: the identity is checked before anything is written (a wrong secret writes nothing); the secrets are pushed; the secret comes from stdin', async (t) => {
  const fake = await startFakeInfisical()
  const repo = setupRepo()
  t.after(async () => {
    repo.cleanup()
    await fake.close()
  })
  const args = ['--yes', '--no-start', '--infisical', 'external', '--infisical-url', fake.url, '--infisical-client-id', fake.clientId, '--infisical-project-id', fake.projectId, '--secrets-stdin']
  const wrong = await repo.run('setup.ts', args, { input: 'INFISICAL_CLIENT_SECRET=wrong\n' })
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /the external Infisical cannot be used/)
  assert.ok(!repo.exists('.env'))
  const r = await repo.run('setup.ts', args, { input: `INFISICAL_CLIENT_SECRET=${fake.clientSecret}\n` })
  assert.equal(r.code, 0, r.stderr)
  const dot = parseDotenv(repo.read('.env'))
  assert.deepEqual([dot.INFISICAL_API_URL, dot.INFISICAL_CLIENT_ID, dot.INFISICAL_PROJECT_ID, dot.INFISICAL_CLIENT_SECRET], [fake.url, fake.clientId, fake.projectId, fake.clientSecret])
  assert.ok(!r.stdout.includes(fake.clientSecret) && !r.stderr.includes(fake.clientSecret))
  assert.equal(fake.secrets().N8N_ENCRYPTION_KEY, dot.N8N_ENCRYPTION_KEY)
})
