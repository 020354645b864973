import { test } from 'node:test'
import assert from 'node:assert/strict'
import { z } from 'zod'
import { createTransport, parseBody, HttpError } from './http.ts'
import { startFakeServer } from '../../test/helpers/http-server.ts'

const noSleep = { sleep: async () => {} }

test('JSON in and out; content-type only when there is a body; query strings', async () => {
  const srv = await startFakeServer([
    { method: 'GET', path: '/items', handler: (r) => ({ body: { q: r.query.get('q'), ct: r.headers['content-type'] ?? null } }) },
    { method: 'POST', path: '/items', handler: (r) => ({ status: 201, body: { got: r.body, ct: r.headers['content-type'] } }) },
  ])
  try {
    const t = createTransport(noSleep)
    const get = await t.send('GET', `${srv.url}/items`, { query: { q: 'a b', skip: undefined } })
    assert.deepEqual(get.json, { q: 'a b', ct: null })
    const post = await t.send('POST', `${srv.url}/items`, { body: { k: 'v' } })
    assert.equal(post.status, 201)
    assert.deepEqual(post.json, { got: { k: 'v' }, ct: 'application/json' })
    assert.equal(t.count, 2)
  } finally {
    await srv.close()
  }
})

test('429 and 5xx are retried for idempotent requests, honouring retry-after; POST 5xx is not', async () => {
  const srv = await startFakeServer([{ method: 'GET', path: '/x', handler: () => ({ body: { ok: true } }) }, { method: 'POST', path: '/x', handler: () => ({ body: { ok: true } }) }])
  try {
    const waits: number[] = []
    const t = createTransport({ sleep: async (ms) => void waits.push(ms) })
    srv.inject((r) => r.method === 'GET', { status: 429, headers: { 'retry-after': '2' }, body: {} })
    srv.inject((r) => r.method === 'GET', { status: 503, body: {} })
    const r = await t.send('GET', `${srv.url}/x`)
    assert.deepEqual(r.json, { ok: true })
    assert.equal(t.count, 3)
    assert.ok(waits[0] >= 2000 && waits[0] < 2300, `waited ${waits[0]}`)
    srv.inject((r) => r.method === 'POST', { status: 503, body: {} })
    const p = await t.send('POST', `${srv.url}/x`, { body: {} })
    assert.equal(p.status, 503, 'a non-idempotent request is not retried on 5xx')
    srv.inject((r) => r.method === 'POST', { status: 429, headers: { 'retry-after': '1' }, body: {} })
    const q = await t.send('POST', `${srv.url}/x`, { body: {}, retry429Always: true })
    assert.equal(q.status, 200, 'a 429 rejected before handling may be retried when the caller says so')
  } finally {
    await srv.close()
  }
})

test('a retry-after longer than the cap fails at once with one sentence', async () => {
  const srv = await startFakeServer([])
  try {
    srv.inject(() => true, { status: 429, headers: { 'retry-after': '300' }, body: {} })
    const t = createTransport({ ...noSleep, maxWaitMs: 10_000 })
    await assert.rejects(t.send('GET', `${srv.url}/x`), (e: unknown) => e instanceof HttpError && e.kind === 'rate-limited' && /retry after 300 s/.test(e.message))
  } finally {
    await srv.close()
  }
})

test('unreachable, HTML instead of JSON, and wrong shapes become clear errors', async () => {
  const t = createTransport(noSleep)
  await assert.rejects(t.send('GET', 'http://127.0.0.1:9/none'), (e: unknown) => e instanceof HttpError && e.kind === 'unreachable' && /cannot reach http:\/\/127\.0\.0\.1:9/.test(e.message))
  const srv = await startFakeServer([
    { method: 'GET', path: '/html', handler: () => ({ body: '<html>login</html>' }) },
    { method: 'GET', path: '/shape', handler: () => ({ body: { id: 5 } }) },
  ])
  try {
    const html = await t.send('GET', `${srv.url}/html`)
    assert.throws(() => parseBody(z.object({ id: z.string() }), html, 'Svc GET /html'), /expected JSON, got text\/html/)
    const shape = await t.send('GET', `${srv.url}/shape`)
    assert.throws(() => parseBody(z.object({ id: z.string() }), shape, 'Svc GET /shape'), /Svc GET \/shape: unexpected response shape \(id: /)
  } finally {
    await srv.close()
  }
})

test('dry-run: non-GET requests are not sent, and are reported without body values', async () => {
  const srv = await startFakeServer([{ method: 'GET', path: '/x', handler: () => ({ body: {} }) }])
  try {
    const skipped: string[] = []
    const t = createTransport({ ...noSleep, dryRun: { skipped: (w) => skipped.push(w) } })
    await t.send('GET', `${srv.url}/x`)
    const r = await t.send('PUT', `${srv.url}/x`, { body: { secretValue: 'hunter2-secret' } })
    assert.equal(r.skipped, true)
    assert.equal(srv.requests.length, 1)
    assert.equal(skipped.length, 1)
    assert.match(skipped[0], /^PUT http:\/\/127\.0\.0\.1:\d+\/x \{secretValue\}$/)
  } finally {
    await srv.close()
  }
})

test('x-ratelimit-remaining 0 pauses until the reset before the next request', async () => {
  const srv = await startFakeServer([{ method: 'GET', path: '/x', handler: () => ({ headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '7' }, body: {} }) }])
  try {
    const waits: number[] = []
    const t = createTransport({ sleep: async (ms) => void waits.push(ms) })
    await t.send('GET', `${srv.url}/x`)
    await t.send('GET', `${srv.url}/x`)
    assert.equal(waits.length, 1)
    assert.ok(waits[0] > 6000 && waits[0] <= 7000, `waited ${waits[0]}`)
  } finally {
    await srv.close()
  }
})
