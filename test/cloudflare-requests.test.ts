// The request budget of a reconcile against the fake (keep the count low): with the IDs
// remembered by the run before, 1 changed host costs 6 requests (3 reads, 3 writes) and none 3 reads, exactly;
// a stale remembered ID is rediscovered once, a wrong configured one is a ConfigError; --dry-run sends no write;
// a record created behind our back between read and batch is taken as done.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSession } from '../lib/cloudflare/session.ts'
import { applyReconcile, planReconcile, type Scope } from '../lib/cloudflare/reconcile.ts'
import type { Remembered } from '../lib/cloudflare/memory.ts'
import type { CloudflareConfig, Desired, DesiredHost } from '../lib/cloudflare/config.ts'
import { ConfigError } from '../lib/core/errors.ts'
import { startFakeCloudflare } from './fake-cloudflare.ts'

const ALL: Scope = { access: true, ingress: true, dns: true }
const host = (sub: string, access: DesiredHost['access']): DesiredHost => ({ host: `${sub}.example.com`, service: sub, stack: 'apps', access, audEnv: `${sub.toUpperCase()}_ACCESS_AUD` })
const HOSTS = Array.from({ length: 20 }, (_, i) => host(`app${i}`, i % 2 ? 'public' : 'protected'))
const ALL_HOSTS: Desired = { domain: 'example.com', proxyUrl: 'http://caddy:80', hosts: HOSTS }
const CHANGED = 'app18.example.com'

async function world(configured: Partial<CloudflareConfig> = {}) {
  const fake = await startFakeCloudflare({ maxPerPage: 100 })
  const account = fake.account()
  const zone = fake.zone('example.com', account)
  const tunnel = fake.tunnel(account, 'stackyard-example.com')
  fake.org(account, 'myteam.cloudflareaccess.com')
  const config: CloudflareConfig = { auth: { token: fake.token() }, baseUrl: fake.url, domain: 'example.com', tunnelName: tunnel.name, access: { emails: ['me@example.com'] }, ...configured }
  let memory: Remembered = {}
  /** one apply run as the task does it: remembered IDs in, resolved IDs out */
  const run = async (d: Desired = ALL_HOSTS, o: { dryRun?: boolean } = {}) => {
    const s = openSession({ config, remembered: memory, transportOptions: { sleep: async () => {} }, dryRun: o.dryRun ? { skipped: () => {} } : undefined })
    const from = fake.server.requests.length
    const plan = await planReconcile(s, d, ALL, config.access)
    const result = plan.writes ? await applyReconcile(s, plan, { dryRun: o.dryRun }) : undefined
    if (!o.dryRun) memory = s.remembered()
    const requests = fake.server.requests.slice(from).map((r) => `${r.method} ${r.path.replace(/^\/client\/v4/, '').replace(account, '{a}').replace(zone, '{z}').replace(tunnel.id, '{t}')}`)
    return { plan, result, requests, writes: fake.writes(from) }
  }
  const forgetChanged = () => {
    fake.state.apps = fake.state.apps.filter((a) => a.domain !== CHANGED)
    fake.state.records = fake.state.records.filter((r) => r.name !== CHANGED)
    const cfg = tunnel.config as { ingress: Array<{ hostname?: string }> }
    cfg.ingress = cfg.ingress.filter((r) => r.hostname !== CHANGED)
  }
  return { fake, account, zone, tunnel, config, run, forgetChanged, memory: () => memory, setMemory: (m: Remembered) => void (memory = m) }
}

test('with remembered IDs: 1 changed host costs 6 requests (3 reads, 3 writes), none changed 3 reads', async () => {
  const w = await world()
  try {
    const first = await w.run()
    assert.equal(first.result?.failures.length, 0)
    assert.deepEqual(w.memory(), { accountId: w.account, zoneId: w.zone, zoneName: 'example.com', tunnelId: w.tunnel.id, authDomain: 'myteam.cloudflareaccess.com' })

    w.forgetChanged()
    const one = await w.run()
    assert.deepEqual(one.requests, [
      'GET /accounts/{a}/cfd_tunnel/{t}/configurations',
      'GET /accounts/{a}/access/apps',
      'GET /zones/{z}/dns_records',
      'POST /accounts/{a}/access/apps',
      'PUT /accounts/{a}/cfd_tunnel/{t}/configurations',
      'POST /zones/{z}/dns_records/batch',
    ])
    assert.ok(one.requests.length <= 6, 'the goal: at most 6 requests for one change')
    assert.equal(one.result?.writes, 3)
    const app = w.fake.state.apps.find((a) => a.domain === CHANGED)!
    const rule = (w.tunnel.config as { ingress: Array<Record<string, any>> }).ingress.find((r) => r.hostname === CHANGED)!
    assert.deepEqual(rule.originRequest.access.audTag, [app.aud], 'the new app\'s AUD is in the ingress')
    assert.ok(w.fake.state.records.some((r) => r.name === CHANGED && r.proxied))

    const none = await w.run()
    assert.deepEqual(none.requests, ['GET /accounts/{a}/cfd_tunnel/{t}/configurations', 'GET /accounts/{a}/access/apps', 'GET /zones/{z}/dns_records'])
    assert.equal(none.plan.writes, false)
  } finally {
    await w.fake.close()
  }
})

test('--dry-run performs the reads and sends no write, and remembers nothing', async () => {
  const w = await world()
  try {
    const dry = await w.run(ALL_HOSTS, { dryRun: true })
    assert.ok(dry.plan.writes)
    assert.deepEqual(dry.writes, [])
    assert.equal(dry.result?.writes, 0)
    assert.deepEqual(w.memory(), {})
  } finally {
    await w.fake.close()
  }
})

test('stale remembered IDs (tunnel and zone recreated) are rediscovered once, not a failure', async () => {
  const w = await world()
  try {
    await w.run()
    // the tunnel was deleted and created again under the same name, and the zone re-added: the remembered IDs are stale
    const replacement = w.fake.tunnel(w.account, 'stackyard-example.com', { config: structuredClone(w.tunnel.config), version: 3 })
    w.tunnel.deleted_at = new Date().toISOString()
    w.fake.state.tunnels = w.fake.state.tunnels.filter((t) => t !== w.tunnel)
    const z = w.fake.state.zones[0]
    const oldZone = z.id
    z.id = 'fedcba9876543210fedcba9876543210'
    for (const r of w.fake.state.records) r.zone = z.id
    w.forgetChanged()
    const r = await w.run()
    assert.equal(r.result?.failures.length, 0)
    assert.deepEqual([w.memory().tunnelId, w.memory().zoneId], [replacement.id, z.id], 'the new IDs are remembered')
    assert.ok(r.requests.filter((x) => x.includes('/configurations') && x.startsWith('GET')).length === 2, 'the stale read, then one read after rediscovery')
    assert.ok(r.requests.includes('GET /zones') && r.requests.includes('GET /accounts/{a}/cfd_tunnel'), 'zone and tunnel looked up again')
    assert.ok(w.fake.state.records.some((x) => x.name === CHANGED && x.content === `${replacement.id}.cfargotunnel.com`))
    assert.notEqual(oldZone, z.id)
    // and the run after is back to the budget
    assert.equal((await w.run()).requests.length, 3)
  } finally {
    await w.fake.close()
  }
})

test('an Access-only run with a stale remembered account rediscovers it', async () => {
  const w = await world()
  try {
    const s = openSession({ config: w.config, remembered: { accountId: '0123456789abcdef0123456789abcdef', authDomain: 'old.cloudflareaccess.com' } })
    const plan = await planReconcile(s, ALL_HOSTS, { access: true }, w.config.access)
    assert.equal(plan.accountId, w.account)
    assert.equal(plan.authDomain, 'myteam.cloudflareaccess.com', 'the team domain remembered with the stale account is read again')
    assert.deepEqual(s.remembered().accountId, w.account)
  } finally {
    await w.fake.close()
  }
})

test('a configured tunnel ID Cloudflare does not know is a ConfigError naming the variable', async () => {
  const w = await world({ tunnelId: '00000000-0000-4000-8000-000000000000' })
  try {
    await assert.rejects(w.run(), (e: Error) => e instanceof ConfigError && /CLOUDFLARE_TUNNEL_ID 00000000-0000-4000-8000-000000000000: Cloudflare answers that it does not exist/.test(e.message) && /unset it/.test(e.hint ?? ''))
    assert.deepEqual(w.fake.writes(), [])
  } finally {
    await w.fake.close()
  }
})

test('a record created behind our back between the read and the batch is taken as done (one re-read, no failure)', async () => {
  const w = await world()
  try {
    await w.run()
    w.forgetChanged()
    const s = openSession({ config: w.config, remembered: w.memory() })
    const plan = await planReconcile(s, ALL_HOSTS, ALL, w.config.access)
    w.fake.record(w.zone, { type: 'CNAME', name: CHANGED, content: `${w.tunnel.id}.cfargotunnel.com`, proxied: true })
    const from = w.fake.server.requests.length
    const result = await applyReconcile(s, plan)
    assert.deepEqual(result.failures, [])
    const dns = w.fake.server.requests.slice(from).filter((r) => r.path.includes('dns_records')).map((r) => `${r.method} ${r.path.endsWith('/batch') ? 'batch' : 'list'}`)
    assert.deepEqual(dns, ['POST batch', 'GET list'], 'refused as a duplicate (nothing applied), re-read, nothing left to send')
    assert.equal(w.fake.state.records.filter((r) => r.name === CHANGED).length, 1)
  } finally {
    await w.fake.close()
  }
})

test('more DNS changes than one batch may hold go as several batches of at most 200', async () => {
  const w = await world()
  try {
    const many: Desired = { ...ALL_HOSTS, hosts: Array.from({ length: 450 }, (_, i) => host(`n${i}`, 'public')) }
    const r = await w.run(many)
    assert.deepEqual(r.result?.failures, [])
    const batches = r.writes.filter((x) => x.path.endsWith('/dns_records/batch')).map((x) => (x.body as { posts: unknown[] }).posts.length)
    assert.deepEqual(batches, [200, 200, 50])
    assert.equal(w.fake.state.records.length, 450)
  } finally {
    await w.fake.close()
  }
})
