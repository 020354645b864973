// The rendered Caddyfile under the real caddy (Debian's 2.6.2 here): validation of the production render, and a
// loopback variant (same renderer, upstreams and ports as parameters) in front of small node:http servers.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderCaddyfile } from '../lib/caddy/render.ts'
import type { Route } from '../lib/model/registry.ts'
import { freePort, requireCaddy, startCaddy, stopCaddies, closeServers } from './helpers/caddy.ts'

requireCaddy()

const route = (over: Partial<Route>): Route => ({
  subdomain: 'app', port: 1, local_port: 1, access: 'protected', body_limit: '10MB', timeout: '60s', service: 'app', stack: 'fixture', urlEnv: 'APP_URL', ...over,
})
const ROUTES = [route({ subdomain: 'app', service: 'app', local_port: 8101, body_limit: '1KB' }), route({ subdomain: 'other', service: 'other', local_port: 8102, body_limit: '10MB' })]

interface Seen { service: string; method: string; url: string; headers: Record<string, string | string[] | undefined>; bytes: number }
const seen: Seen[] = []
const servers: Server[] = []
const upstreamPorts: Record<string, number> = {}
const dir = mkdtempSync(join(tmpdir(), 'stackyard-caddy-'))

function send(port: number, o: { path?: string; host?: string; method?: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.host ? { host: o.host } : {}), ...o.headers }
    if (o.body && !o.chunked) headers['content-length'] = String(o.body.length)
    const req = request({ host: '127.0.0.1', port, path: o.path ?? '/', method: o.method ?? (o.body ? 'POST' : 'GET'), headers }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    if (o.body && o.chunked) {
      // several writes without Content-Length: Transfer-Encoding chunked
      for (let i = 0; i < o.body.length; i += 1000) req.write(o.body.subarray(i, i + 1000))
    } else if (o.body) req.write(o.body)
    req.end()
  })
}

let pub = { http: 0 }
let priv = { http: 0, app: 0, other: 0 }

before(async () => {
  for (const r of ROUTES) {
    const s = createServer((req, res) => {
      let bytes = 0
      req.on('data', (c: Buffer) => (bytes += c.length))
      req.on('end', () => {
        seen.push({ service: r.service, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes })
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ service: r.service, bytes }))
      })
      req.on('error', () => {})
    })
    await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
    servers.push(s)
    upstreamPorts[r.service] = (s.address() as AddressInfo).port
  }
  const upstream = (r: Route) => `127.0.0.1:${upstreamPorts[r.service]}`
  pub = { http: await freePort() }
  writeFileSync(join(dir, 'public.caddy'), renderCaddyfile({ environment: 'public', routes: ROUTES, upstream, httpPort: pub.http, bind: '127.0.0.1', admin: 'off', addons: false }))
  await startCaddy(join(dir, 'public.caddy'), pub.http, { DOMAIN: 'example.test' })
  priv = { http: await freePort(), app: await freePort(), other: await freePort() }
  const local = (r: Route) => (r.service === 'app' ? priv.app : priv.other)
  writeFileSync(join(dir, 'private.caddy'), renderCaddyfile({ environment: 'private', routes: ROUTES, upstream, httpPort: priv.http, localPort: local, bind: '127.0.0.1', admin: 'off', addons: false }))
  await startCaddy(join(dir, 'private.caddy'), priv.http)
})

after(async () => {
  stopCaddies()
  await closeServers(servers)
  rmSync(dir, { recursive: true, force: true })
})

test('the production render (container upstreams, add-ons import) validates in both environments', () => {
  const addons = join(dir, 'prod', 'addons')
  mkdirSync(addons, { recursive: true })
  for (const environment of ['private', 'public'] as const) {
    const file = join(dir, 'prod', `Caddyfile.${environment}`)
    writeFileSync(file, renderCaddyfile({ environment, routes: ROUTES }))
    const r = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', file], { env: { ...process.env, DOMAIN: 'example.test' }, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
  }
  // an add-on site block is picked up from addons/ next to the Caddyfile
  writeFileSync(join(addons, 'mine.caddy'), ':18999 {\n\trespond "addon"\n}\n')
  const adapted = spawnSync('caddy', ['adapt', '--adapter', 'caddyfile', '--config', join(dir, 'prod', 'Caddyfile.private')], { encoding: 'utf8' })
  assert.equal(adapted.status, 0, adapted.stderr)
  assert.match(adapted.stdout, /:18999/)
})

test('public: Host-based routing to each upstream, path kept', async () => {
  const a = await send(pub.http, { host: 'app.example.test', path: '/x?y=1' })
  assert.equal(a.status, 200)
  assert.equal(JSON.parse(a.text).service, 'app')
  const b = await send(pub.http, { host: 'other.example.test' })
  assert.equal(JSON.parse(b.text).service, 'other')
  assert.equal(seen.at(-2)!.url, '/x?y=1')
})

test('public: unknown host gets the 404 fallback; /health answers 200', async () => {
  const r = await send(pub.http, { host: 'nope.example.test' })
  assert.equal(r.status, 404)
  assert.match(r.text, /No service is configured/)
  const other = await send(pub.http, { host: 'app.elsewhere.test' })
  assert.equal(other.status, 404, 'the domain comes from {$DOMAIN}, not a hard-coded one')
  assert.equal((await send(pub.http, { path: '/health' })).status, 200)
})

test('public: security headers and HSTS', async () => {
  const r = await send(pub.http, { host: 'app.example.test' })
  assert.equal(r.headers['x-content-type-options'], 'nosniff')
  assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN')
  assert.equal(r.headers['referrer-policy'], 'strict-origin-when-cross-origin')
  assert.match(String(r.headers['strict-transport-security']), /max-age=31536000/)
})

test('public: X-Forwarded-Proto from the tunnel peer is kept (https), not hard-coded', async () => {
  await send(pub.http, { host: 'app.example.test', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } })
  const h = seen.at(-1)!.headers
  assert.equal(h['x-forwarded-proto'], 'https')
  assert.match(String(h['x-forwarded-for']), /^203\.0\.113\.9, 127\.0\.0\.1$/)
  await send(pub.http, { host: 'app.example.test' })
  assert.equal(seen.at(-1)!.headers['x-forwarded-proto'], 'http', 'plain http stays http')
})

test('no Content-Type is forced onto requests (body-less POST stays body-less)', async () => {
  const r = await send(pub.http, { host: 'app.example.test', method: 'POST', path: '/api/v1/auth/logout' })
  assert.equal(r.status, 200)
  const last = seen.at(-1)!
  assert.equal(last.method, 'POST')
  assert.equal(last.headers['content-type'], undefined)
  assert.equal(last.bytes, 0)
})

test('body limit per route: over the limit is 413 before reaching the upstream; at the limit passes', async () => {
  const before = seen.length
  const over = await send(pub.http, { host: 'app.example.test', body: Buffer.alloc(1001) })
  assert.equal(over.status, 413)
  assert.equal(seen.length, before, 'the upstream never saw the oversized request')
  const atLimit = await send(pub.http, { host: 'app.example.test', body: Buffer.alloc(1000) })
  assert.equal(atLimit.status, 200)
  assert.equal(JSON.parse(atLimit.text).bytes, 1000)
  const otherRoute = await send(pub.http, { host: 'other.example.test', body: Buffer.alloc(5000) })
  assert.equal(otherRoute.status, 200, 'the 1KB limit is app\'s only')
  const chunked = await send(pub.http, { host: 'app.example.test', body: Buffer.alloc(50_000), chunked: true })
  assert.equal(chunked.status, 413, 'a streamed (chunked) body over the limit is 413 too')
})

test('private: routing by local port, no HSTS, the client cannot spoof X-Forwarded-Proto', async () => {
  const a = await send(priv.app, { headers: { 'x-forwarded-proto': 'https' } })
  assert.equal(JSON.parse(a.text).service, 'app')
  assert.equal(seen.at(-1)!.headers['x-forwarded-proto'], 'http')
  assert.equal(a.headers['strict-transport-security'], undefined)
  assert.equal(a.headers['x-content-type-options'], 'nosniff')
  const b = await send(priv.other)
  assert.equal(JSON.parse(b.text).service, 'other')
  assert.equal((await send(priv.app, { body: Buffer.alloc(2000) })).status, 413)
  assert.equal((await send(priv.http, { path: '/health' })).status, 200)
  assert.equal((await send(priv.http, { path: '/' })).status, 404)
})
