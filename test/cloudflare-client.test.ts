// lib/cloudflare/client.ts against the loopback fake: envelope, paging, 429/5xx/timeouts, error rendering and the
// one-sentence diagnoses (bad token, missing permission, unknown domain).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCloudflare, CloudflareApiError } from '../lib/cloudflare/client.ts'
import { HttpError } from '../lib/core/http.ts'
import { openSession } from '../lib/cloudflare/session.ts'
import type { CloudflareConfig } from '../lib/cloudflare/config.ts'
import { ConfigError } from '../lib/core/errors.ts'
import { startFakeCloudflare, ALL_PERMS, type FakeCloudflare } from './fake-cloudflare.ts'
import { startFakeServer } from './helpers/http-server.ts'

async function world(maxPerPage = 50) {
  const fake = await startFakeCloudflare({ maxPerPage })
  const account = fake.account()
  const zone = fake.zone('example.com', account)
  return { fake, account, zone }
}

function client(fake: FakeCloudflare, token = fake.token(), sleeps: number[] = []) {
  return createCloudflare({
    auth: { token },
    baseUrl: fake.url,
    transportOptions: { maxRetries: 3, maxWaitMs: 60_000, timeoutMs: 2_000, sleep: async (ms) => void sleeps.push(ms) },
  })
}

test('the envelope is unwrapped once and results are validated', async () => {
  const { fake, account, zone } = await world()
  try {
    const cf = client(fake)
    const zones = await cf.zonesByName('example.com')
    assert.deepEqual(zones.map((z) => [z.id, z.account.id]), [[zone, account]])
    assert.equal((await cf.zone(zone)).name, 'example.com')
    assert.equal(fake.server.requests[0].headers.authorization?.toString().startsWith('Bearer '), true)
  } finally {
    await fake.close()
  }
})

test('a result of the wrong shape names the endpoint and the field', async () => {
  const server = await startFakeServer([{ method: 'GET', path: '/client/v4/zones/:z', handler: () => ({ body: { success: true, errors: [], result: { id: 1, name: 'x' } } }) }])
  try {
    const cf = createCloudflare({ auth: { token: 't' }, baseUrl: `${server.url}/client/v4` })
    await assert.rejects(cf.zone('abc'), (e: Error) => e instanceof HttpError && /GET \/zones\/abc/.test(e.message) && /id/.test(e.message) && /account/.test(e.message))
  } finally {
    await server.close()
  }
})

test('page-based lists are followed to the last page', async () => {
  const { fake, zone } = await world(50)
  try {
    for (let i = 0; i < 120; i++) fake.record(zone, { type: 'TXT', name: `r${i}`, content: `v${i}` })
    const cf = client(fake)
    const before = fake.server.requests.length
    const all = await cf.dnsRecords(zone)
    assert.equal(all.length, 120)
    assert.equal(new Set(all.map((r) => r.id)).size, 120)
    assert.equal(fake.server.requests.length - before, 3)
  } finally {
    await fake.close()
  }
})

test('cursor-based lists are followed until the cursor is empty', async () => {
  const pages: Record<string, { items: number[]; next?: string }> = { '': { items: [1, 2], next: 'c1' }, c1: { items: [3, 4], next: 'c2' }, c2: { items: [5] } }
  const server = await startFakeServer([
    {
      method: 'GET',
      path: '/client/v4/things',
      handler: (req) => {
        const p = pages[req.query.get('cursor') ?? '']
        return { body: { success: true, errors: [], result: p.items.map((id) => ({ id: String(id) })), result_info: { per_page: 2, ...(p.next ? { cursors: { after: p.next } } : {}) } } }
      },
    },
  ])
  try {
    const cf = createCloudflare({ auth: { token: 't' }, baseUrl: `${server.url}/client/v4` })
    const { z } = await import('zod')
    const items = await cf.list('/things', z.object({ id: z.string() }), {}, 2)
    assert.deepEqual(items.map((i) => i.id), ['1', '2', '3', '4', '5'])
    assert.equal(server.requests.length, 3)
  } finally {
    await server.close()
  }
})

test('429 with retry-after is honoured, and a wait past the cap fails at once with the time to wait', async () => {
  const { fake } = await world()
  try {
    const sleeps: number[] = []
    const cf = client(fake, fake.token(), sleeps)
    fake.rateLimit((r) => r.path.endsWith('/zones'), 7)
    assert.equal((await cf.zonesByName('example.com')).length, 1)
    assert.ok(sleeps.some((ms) => ms >= 7000 && ms < 8000), `slept ${sleeps}`)

    fake.rateLimit((r) => r.path.endsWith('/zones'), 300)
    const before = fake.server.requests.length
    await assert.rejects(cf.zonesByName('example.com'), (e: Error) => e instanceof HttpError && e.kind === 'rate-limited' && /retry after 300 s/.test(e.message))
    assert.equal(fake.server.requests.length - before, 1, 'no retry when the wait exceeds the cap')
  } finally {
    await fake.close()
  }
})

test('5xx: reads are retried, creations are not; errors read "message [code: N]" with method, path and status', async () => {
  const { fake, zone } = await world()
  try {
    const cf = client(fake)
    fake.fail((r) => r.method === 'GET' && r.path.includes('/dns_records'), 502, 2)
    assert.deepEqual(await cf.dnsRecords(zone), [])
    fake.fail((r) => r.method === 'POST', 500, 1)
    const before = fake.server.requests.length
    await assert.rejects(cf.createDnsRecord(zone, { type: 'CNAME', name: 'a.example.com', content: 'b.example.net', proxied: true, ttl: 1 }), (e: Error) => {
      assert.ok(e instanceof CloudflareApiError)
      assert.match(e.message, /^Cloudflare POST \/zones\/[0-9a-f]+\/dns_records → 500: injected failure \(500\) \[code: 1500\]$/)
      return true
    })
    assert.equal(fake.server.requests.length - before, 1)
    assert.equal(fake.state.records.length, 0)
  } finally {
    await fake.close()
  }
})

test('a timeout is reported and never retried', async () => {
  const { fake } = await world()
  try {
    const cf = createCloudflare({ auth: { token: fake.token() }, baseUrl: fake.url, transportOptions: { timeoutMs: 200, sleep: async () => {} } })
    fake.server.inject((r) => r.path.endsWith('/zones'), { delayMs: 1000, body: {} })
    const before = fake.server.requests.length
    await assert.rejects(cf.zonesByName('example.com'), (e: Error) => e instanceof HttpError && e.kind === 'timeout')
    assert.equal(fake.server.requests.length - before, 1)
  } finally {
    await fake.close()
  }
})

test('duplicate DNS records come back with 81053 / 81057', async () => {
  const { fake, zone } = await world()
  try {
    const cf = client(fake)
    const rec = { type: 'CNAME', name: 'a.example.com', content: 't.cfargotunnel.com', proxied: true, ttl: 1 }
    await cf.createDnsRecord(zone, rec)
    await assert.rejects(cf.createDnsRecord(zone, rec), (e: Error) => e instanceof CloudflareApiError && e.code === 81057 && /\[code: 81057\]/.test(e.message))
    await assert.rejects(cf.createDnsRecord(zone, { ...rec, content: 'other.example.net' }), (e: Error) => e instanceof CloudflareApiError && e.code === 81053)
  } finally {
    await fake.close()
  }
})

test('an invalid token gets one sentence saying so', async () => {
  const { fake, account } = await world()
  try {
    const cf = client(fake, 'not-a-real-token')
    await assert.rejects(cf.tunnelsByName(account, 'x'), (e: Error) => {
      assert.match(e.message, /the Cloudflare API token \(CLOUDFLARE_API_TOKEN\) is invalid, expired or disabled/)
      assert.match((e as CloudflareApiError).hint ?? '', /API Tokens/)
      return true
    })
    const disabled = client(fake, fake.token(ALL_PERMS, 'disabled'))
    await assert.rejects(disabled.accessApps(account), /invalid, expired or disabled/)
  } finally {
    await fake.close()
  }
})

test('a token lacking a permission gets one sentence naming it', async () => {
  const { fake, account, zone } = await world()
  try {
    const readOnlyDns = fake.token(ALL_PERMS.filter((p) => p !== 'dns:edit'))
    const cf = client(fake, readOnlyDns)
    assert.deepEqual(await cf.dnsRecords(zone), [])
    await assert.rejects(cf.createDnsRecord(zone, { type: 'CNAME', name: 'a', content: 'b.example.net' }), (e: Error) => {
      assert.equal(e.message, `the Cloudflare API token lacks the permission "Zone · DNS · Edit" (needed for POST /zones/${zone}/dns_records)`)
      return true
    })
    const noTunnel = client(fake, fake.token(ALL_PERMS.filter((p) => p !== 'tunnel:read')))
    await assert.rejects(noTunnel.tunnelsByName(account, 'x'), /lacks the permission "Account · Cloudflare Tunnel · Read"/)
  } finally {
    await fake.close()
  }
})

test('email + global key authenticate; a wrong pair is named', async () => {
  const { fake } = await world()
  try {
    fake.state.globalKeys.set('me@example.com', 'k'.repeat(37))
    const good = createCloudflare({ auth: { email: 'me@example.com', key: 'k'.repeat(37) }, baseUrl: fake.url })
    assert.equal((await good.zonesByName('example.com')).length, 1)
    const bad = createCloudflare({ auth: { email: 'me@example.com', key: 'wrong' }, baseUrl: fake.url })
    await assert.rejects(bad.zonesByName('example.com'), /rejected CLOUDFLARE_EMAIL \/ CLOUDFLARE_API_KEY.*\[code: 9103\]/)
  } finally {
    await fake.close()
  }
})

const config = (fake: FakeCloudflare, over: Partial<CloudflareConfig> = {}): CloudflareConfig => ({
  auth: { token: fake.token() },
  baseUrl: fake.url,
  domain: 'example.com',
  tunnelName: 'stackyard-example.com',
  access: { emails: ['me@example.com'] },
  ...over,
})

test('account and zone are discovered from DOMAIN (also a name inside the zone); an unknown domain is a clear error', async () => {
  const { fake, account, zone } = await world()
  try {
    const s = openSession({ config: config(fake) })
    assert.deepEqual(await s.zone(), { id: zone, name: 'example.com', accountId: account })
    assert.equal(await s.account(), account)
    const sub = openSession({ config: config(fake, { domain: 'lab.example.com' }) })
    assert.equal((await sub.zone()).id, zone)
    const unknown = openSession({ config: config(fake, { domain: 'nowhere.test' }) })
    await assert.rejects(unknown.account(), (e: Error) => e instanceof ConfigError && /no Cloudflare zone for DOMAIN nowhere\.test is visible to this token/.test(e.message))
    const noZoneRead = openSession({ config: config(fake, { auth: { token: fake.token(ALL_PERMS.filter((p) => p !== 'zone:read')) } }) })
    await assert.rejects(noZoneRead.zone(), (e: Error) => /Zone · Zone · Read/.test((e as ConfigError).hint ?? ''))
  } finally {
    await fake.close()
  }
})
