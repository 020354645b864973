// The fake's POST /zones/{z}/dns_records/batch against lib/cloudflare/client.ts, as the real API behaves: deletes,
// patches, puts, posts in that order, one transaction (a failing operation answers 400 with its error and
// nothing is applied), the result grouped per operation, and the permission it needs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCloudflare, CloudflareApiError } from '../lib/cloudflare/client.ts'
import { startFakeCloudflare, ALL_PERMS, type FakeCloudflare } from './fake-cloudflare.ts'

async function world() {
  const fake = await startFakeCloudflare()
  const account = fake.account()
  const zone = fake.zone('example.com', account)
  const cf = (token = fake.token()) => createCloudflare({ auth: { token }, baseUrl: fake.url, transportOptions: { sleep: async () => {} } })
  return { fake, zone, cf }
}
const cname = (name: string, content = 't.cfargotunnel.com') => ({ type: 'CNAME', name, content, proxied: true, ttl: 1 })
const snapshot = (fake: FakeCloudflare) => structuredClone(fake.state.records)

test('a batch applies deletes, patches, puts and posts in that order and answers with each group', async () => {
  const { fake, zone, cf } = await world()
  try {
    const old = fake.record(zone, { type: 'CNAME', name: 'old', content: 'x.example.net' })
    const keep = fake.record(zone, { type: 'CNAME', name: 'keep', content: 'x.example.net' })
    const move = fake.record(zone, { type: 'CNAME', name: 'move', content: 'x.example.net' })
    const from = fake.server.requests.length
    // the post takes the name the delete frees: only valid because deletes run first
    const r = await cf().batchDnsRecords(zone, { deletes: [{ id: old.id }], patches: [{ id: keep.id, proxied: true }], puts: [{ id: move.id, ...cname('move.example.com') }], posts: [cname('old.example.com'), cname('new.example.com')] })
    assert.equal(fake.server.requests.length - from, 1, 'one request')
    assert.deepEqual(Object.keys(fake.server.requests[from].body as object).sort(), ['deletes', 'patches', 'posts', 'puts'])
    assert.deepEqual(r?.deletes?.map((x) => x.id), [old.id])
    assert.deepEqual(r?.patches?.map((x) => [x.id, x.content, x.proxied]), [[keep.id, 'x.example.net', true]])
    assert.deepEqual(r?.puts?.map((x) => [x.id, x.content]), [[move.id, 't.cfargotunnel.com']])
    assert.deepEqual(r?.posts?.map((x) => x.name), ['old.example.com', 'new.example.com'])
    assert.ok(r?.posts?.every((x) => x.id && x.id !== old.id), 'posts get new IDs')
    assert.deepEqual(fake.state.records.map((x) => x.name).sort(), ['keep.example.com', 'move.example.com', 'new.example.com', 'old.example.com'])
    // empty groups are left out of the body
    await cf().batchDnsRecords(zone, { posts: [cname('solo.example.com')], deletes: [] })
    assert.deepEqual(Object.keys(fake.server.requests.at(-1)!.body as object), ['posts'])
  } finally {
    await fake.close()
  }
})

test('a batch is all or nothing: the first failing operation answers 400 with its code and nothing changes', async () => {
  const { fake, zone, cf } = await world()
  try {
    fake.record(zone, { type: 'A', name: 'taken', content: '203.0.113.1' })
    const gone = fake.record(zone, { type: 'CNAME', name: 'gone', content: 'x.example.net' })
    const before = snapshot(fake)
    const cases: Array<[Parameters<ReturnType<typeof cf>['batchDnsRecords']>[1], number]> = [
      [{ deletes: [{ id: gone.id }], posts: [cname('fine.example.com'), cname('taken.example.com')] }, 81053],
      [{ posts: [cname('twice.example.com'), cname('twice.example.com')] }, 81057],
      [{ deletes: [{ id: gone.id }, { id: 'ffffffffffffffffffffffffffffffff' }] }, 81044],
      [{ puts: [{ id: gone.id, ...cname('gone.example.com'), ttl: 5 }] }, 9021],
      [{ posts: [{ type: 'TXT', name: 'txt.example.com', content: 'v=1', proxied: true }] }, 9004],
    ]
    for (const [batch, code] of cases) {
      const e = await cf().batchDnsRecords(zone, batch).then(() => undefined, (x: unknown) => x)
      assert.ok(e instanceof CloudflareApiError, `refused: ${JSON.stringify(batch)}`)
      assert.deepEqual([e.status, e.code], [400, code])
      assert.deepEqual(snapshot(fake), before, 'nothing applied')
    }
    const raw = await fetch(`${fake.url}/zones/${zone}/dns_records/batch`, { method: 'POST', headers: { authorization: `Bearer ${fake.token()}`, 'content-type': 'application/json' }, body: JSON.stringify({ posts: [cname('taken.example.com')] }) })
    assert.deepEqual(await raw.json(), { success: false, errors: [{ code: 81053, message: 'An A, AAAA, or CNAME record with that host already exists.' }], messages: [], result: null })
    const malformed = await fetch(`${fake.url}/zones/${zone}/dns_records/batch`, { method: 'POST', headers: { authorization: `Bearer ${fake.token()}`, 'content-type': 'application/json' }, body: JSON.stringify({ posts: 'nope' }) })
    assert.equal(malformed.status, 400)
    assert.deepEqual(snapshot(fake), before)
  } finally {
    await fake.close()
  }
})

test('a batch needs DNS edit and a zone that exists', async () => {
  const { fake, zone, cf } = await world()
  try {
    const readOnly = fake.token(ALL_PERMS.filter((p) => p !== 'dns:edit'))
    await assert.rejects(cf(readOnly).batchDnsRecords(zone, { posts: [cname('a.example.com')] }), /lacks the permission "Zone · DNS · Edit"/)
    await assert.rejects(cf().batchDnsRecords('0123456789abcdef0123456789abcdef', { posts: [cname('a.example.com')] }), (e: unknown) => e instanceof CloudflareApiError && e.code === 7003)
    assert.deepEqual(fake.state.records, [])
  } finally {
    await fake.close()
  }
})
