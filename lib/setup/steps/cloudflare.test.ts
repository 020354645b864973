import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startFakeCloudflare } from '../../../test/fake-cloudflare.ts'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { cloudflare, previewCloudflare } from './cloudflare.ts'

const pub = { environment: 'public' as const, domain: 'example.com', stacks: ['infrastructure', 'data', 'compute', 'apps'] }
/** a first run that answered public (.env has only the domain so far) */
const publicEnv = { DOMAIN: 'example.com' }

test('cloudflare: the private environment asks nothing', async () => {
  const ctx = fakeSetup({})
  ctx.answers.environment = 'private'
  await cloudflare(ctx)
  assert.deepEqual([ctx.prompts.asked, ctx.changes.size, ctx.actions.length], [[], 0, 0])
})

test('cloudflare: an existing tunnel token is asked masked and queued; the hostnames to route by hand come in the closing notes', async () => {
  const ctx = fakeSetup({ answers: ['tunnel-token', 'eyJhIjoi-tunnel-token'], dotEnv: publicEnv })
  Object.assign(ctx.answers, pub)
  await cloudflare(ctx)
  assert.deepEqual(ctx.prompts.asked.map((a) => a.kind), ['select', 'password'])
  assert.deepEqual(ctx.prompts.asked[0].options, ['api-token', 'tunnel-token', 'none'])
  const c = ctx.changes.get('CLOUDFLARE_TUNNEL_TOKEN')!
  assert.deepEqual([c.value, c.secret], ['eyJhIjoi-tunnel-token', true])
  assert.equal(ctx.actions.length, 0, 'nothing to call: cloudflared starts with the token')
  assert.match(ctx.next[0]()!, /each to http:\/\/caddy:80: .*n8n\.example\.com/)
})

test('cloudflare: with an API token in the environment, --yes takes api-token; Access emails are asked; the plan and two actions are queued', async () => {
  const ctx = fakeSetup({ yes: true, shell: { CLOUDFLARE_API_TOKEN: 'from-the-shell-0123456789' }, answers: ['me@example.com, you@example.com'], dotEnv: publicEnv })
  Object.assign(ctx.answers, pub)
  await cloudflare(ctx)
  assert.equal(ctx.answers.cloudflare, 'api-token')
  assert.deepEqual(ctx.prompts.asked.map((a) => a.kind), ['text'], 'the token comes from the shell; only the emails have no default')
  assert.equal(ctx.changes.get('CLOUDFLARE_API_TOKEN')!.value, 'from-the-shell-0123456789', 'stored in .env so the cloudflare tasks work later')
  assert.equal(ctx.changes.get('CLOUDFLARE_ACCESS_EMAILS')!.value, 'me@example.com,you@example.com')
  assert.deepEqual(ctx.actions.map((a) => a.resume[0]), ['npx zx tasks/00-infrastructure/cloudflare/tunnel.ts', 'npx zx tasks/00-infrastructure/cloudflare/apply.ts'])
  assert.equal(ctx.previews.length, 1)
})

test('cloudflare: without a terminal, the mode, the token and the Access emails are listed as missing', async () => {
  const none = fakeSetup({ interactive: false })
  Object.assign(none.answers, pub)
  await cloudflare(none)
  assert.deepEqual(none.missingInputs.map((m) => m.flag), ['--cloudflare none|tunnel-token|api-token'])
  const api = fakeSetup({ interactive: false, given: { cloudflare: 'api-token' } })
  Object.assign(api.answers, pub)
  await cloudflare(api)
  assert.deepEqual(api.missingInputs.map((m) => m.flag), ['CLOUDFLARE_API_TOKEN in the environment, or --secrets-stdin', '--access-emails EMAILS'])
  const byDomain = fakeSetup({ interactive: false, given: { cloudflare: 'api-token', accessEmailDomain: 'example.com' }, shell: { CLOUDFLARE_API_TOKEN: 'x'.repeat(20) } })
  Object.assign(byDomain.answers, pub)
  await cloudflare(byDomain)
  assert.deepEqual(byDomain.missingInputs, [], 'an email domain is enough')
})

test('previewCloudflare reads the plan with the answers (no write request): a missing tunnel is described, an existing one diffed', async (t) => {
  const fake = await startFakeCloudflare()
  t.after(() => fake.close())
  const account = fake.account()
  fake.zone('example.com', account)
  fake.org(account, 'team.cloudflareaccess.com')
  const ctx = fakeSetup({ yes: true, shell: { CLOUDFLARE_API_TOKEN: fake.token(), CLOUDFLARE_API_BASE_URL: fake.url }, given: { cloudflare: 'api-token', accessEmails: 'me@example.com' }, dotEnv: publicEnv })
  Object.assign(ctx.answers, pub)
  ctx.setEnv('STACKYARD_ENVIRONMENT', 'public', { pin: true })
  ctx.setEnv('DOMAIN', 'example.com')
  await cloudflare(ctx)
  const before = await previewCloudflare(ctx)
  assert.match(before, /the tunnel "stackyard-example\.com" does not exist yet/)
  assert.match(before, /\+ n8n\.example\.com \(protected\)/)
  fake.tunnel(account, 'stackyard-example.com')
  const plan = await previewCloudflare(ctx)
  assert.match(plan, /tunnel "stackyard-example\.com" exists/)
  assert.match(plan, /\+ .*n8n\.example\.com/)
  assert.deepEqual(fake.writes(), [], 'the review only reads')
})
