// Every declared service of the shipped stacks behind the real caddy: the config the caddy task renders validates,
// and a loopback rendering of the same routes (same renderer; upstreams and ports as parameters) sends each
// subdomain / local port to its own service, the running Ollama variant of each hardware profile included, with
// each route's own body limit.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry, type Route } from '../lib/model/registry.ts'
import { renderCaddyfile, sizeBytes } from '../lib/caddy/render.ts'
import { activeRoutes } from '../lib/model/routes.ts'
import { readSettings } from '../lib/model/settings.ts'
import { repoRoot } from '../lib/core/paths.ts'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { freePort, get, requireCaddy, startCaddy, stopCaddies, closeServers } from './helpers/caddy.ts'

requireCaddy()

const registry = loadRegistry(repoRoot)
const APPS = ['ollama', 'n8n', 'openwebui', 'flowise', 'searxng']
const dir = mkdtempSync(join(tmpdir(), 'stackyard-stacks-caddy-'))
const servers: Server[] = []
/** service name → loopback port of its stand-in upstream */
const upstreams: Record<string, number> = {}

/** A request announcing a body of `bytes` without sending it: the status Caddy answers with. */
function announce(port: number, host: string, bytes: number) {
  return new Promise<number>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(`POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${bytes}\r\n\r\n`))
    let text = ''
    sock.on('data', (d) => {
      text += d
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m) {
        sock.destroy()
        resolve(Number(m[1]))
      }
    })
    sock.on('error', reject)
    sock.setTimeout(5000, () => {
      sock.destroy()
      reject(new Error(`no answer for ${host} with Content-Length ${bytes}`))
    })
  })
}

const upstream = (r: Route) => `127.0.0.1:${upstreams[r.service]}`
const routesFor = (profile: 'cpu' | 'gpu-nvidia' | 'gpu-amd', environment: 'private' | 'public') =>
  activeRoutes(registry, readSettings({ STACKYARD_PROFILE: profile, STACKYARD_ENVIRONMENT: environment, DOMAIN: 'example.test' }), {})

/** public Caddy per hardware profile (Host routing); one private Caddy (local ports) */
const pub: Record<string, number> = {}
const priv = { http: 0, ports: {} as Record<string, number> }

before(async () => {
  for (const s of registry.services.filter((x) => x.route)) {
    const srv = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end(JSON.stringify({ service: s.name, host: req.headers.host })))
    })
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok))
    servers.push(srv)
    upstreams[s.name] = (srv.address() as AddressInfo).port
  }
  for (const profile of ['cpu', 'gpu-nvidia', 'gpu-amd'] as const) {
    pub[profile] = await freePort()
    const file = join(dir, `public-${profile}.caddy`)
    writeFileSync(file, renderCaddyfile({ environment: 'public', routes: routesFor(profile, 'public'), upstream, httpPort: pub[profile], bind: '127.0.0.1', admin: 'off', addons: false }))
    await startCaddy(file, pub[profile], { DOMAIN: 'example.test' })
  }
  priv.http = await freePort()
  for (const r of routesFor('cpu', 'private')) priv.ports[r.service] = await freePort()
  const file = join(dir, 'private.caddy')
  writeFileSync(file, renderCaddyfile({ environment: 'private', routes: routesFor('cpu', 'private'), upstream, httpPort: priv.http, localPort: (r) => priv.ports[r.service], bind: '127.0.0.1', admin: 'off', addons: false }))
  await startCaddy(file, priv.http, { DOMAIN: 'example.test' })
})

after(async () => {
  stopCaddies()
  await closeServers(servers)
  rmSync(dir, { recursive: true, force: true })
})

test('public: every app subdomain reaches its own service; ollama reaches the variant of the hardware profile', async () => {
  for (const profile of ['cpu', 'gpu-nvidia', 'gpu-amd'] as const) {
    const routes = routesFor(profile, 'public').filter((r) => r.stack !== 'infrastructure')
    assert.deepEqual(routes.map((r) => r.subdomain).sort(), [...APPS].sort(), profile)
    for (const r of routes) {
      const res = await get(pub[profile], `${r.subdomain}.example.test`)
      assert.equal(res.status, 200, `${profile}: ${r.subdomain}`)
      assert.equal(JSON.parse(res.text).service, r.subdomain === 'ollama' ? `ollama-${profile}` : r.service, `${profile}: ${r.subdomain}`)
    }
    assert.equal((await get(pub[profile], 'nothing.example.test')).status, 404)
  }
})

test('private: every app local port reaches its own service', async () => {
  const routes = routesFor('cpu', 'private').filter((r) => r.stack !== 'infrastructure')
  assert.deepEqual(routes.map((r) => r.local_port).sort(), [8200, 8300, 8301, 8302, 8303])
  for (const r of routes) {
    const res = await get(priv.ports[r.service])
    assert.equal(JSON.parse(res.text).service, r.service, `${r.service} on its local port`)
  }
})

test('each route keeps its own body limit: one byte over is 413 before the upstream, a normal request passes', async () => {
  const limits = Object.fromEntries(routesFor('cpu', 'public').filter((r) => r.stack !== 'infrastructure').map((r) => [r.subdomain, r.body_limit]))
  assert.deepEqual(limits, { ollama: '100MB', n8n: '16MB', openwebui: '100MB', flowise: '50MB', searxng: '10MB' })
  for (const [sub, limit] of Object.entries(limits)) {
    assert.equal(await announce(pub.cpu, `${sub}.example.test`, sizeBytes(limit) + 1), 413, `${sub}: over ${limit}`)
    assert.equal(await announce(pub.cpu, `${sub}.example.test`, 0), 200, `${sub}: an empty POST`)
  }
})

test('the caddy task renders the shipped config for both environments; caddy validates it', async () => {
  let repo: TempRepo | undefined
  try {
    repo = tempRepo()
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    for (const [environment, site] of [['private', (r: Route) => `:${r.local_port} {`], ['public', (r: Route) => `http://${r.subdomain}.{$DOMAIN}:80 {`]] as const) {
      const r = await repo.run('00-infrastructure/caddy.ts', ['render', '--print', '--environment', environment], { env: { DOMAIN: 'example.test' } })
      assert.equal(r.code, 0, r.stderr)
      for (const route of routesFor('cpu', environment)) {
        assert.ok(r.stdout.includes(site(route)), `${environment}: site of ${route.service}`)
        assert.ok(r.stdout.includes(`reverse_proxy ${route.service}:${route.port} {`), `${environment}: upstream of ${route.service}`)
        assert.ok(r.stdout.includes(`read_timeout ${route.timeout}`), `${environment}: timeout of ${route.service}`)
      }
      const file = join(dir, `task-${environment}.caddy`)
      writeFileSync(file, r.stdout)
      const v = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', file], { env: { ...process.env, DOMAIN: 'example.test' }, encoding: 'utf8' })
      assert.equal(v.status, 0, v.stderr)
    }
    const nvidia = await repo.run('00-infrastructure/caddy.ts', ['render', '--print', '--profile', 'gpu-nvidia'])
    assert.equal(nvidia.code, 0, nvidia.stderr)
    assert.match(nvidia.stdout, /reverse_proxy ollama-gpu-nvidia:11434 \{/)
    assert.doesNotMatch(nvidia.stdout, /ollama-cpu/)
  } finally {
    repo?.cleanup()
  }
})
