// The ops stack (compose/05-ops): every tool behind its own profile and off by default; each reaches Docker only
// through its own socket proxy (the only services mounting the socket: read-only, internal network, answering only
// its consumer), whose per-method allowlists allow what the consumer needs and refuse the rest (read-only where
// possible; Watchtower may pull but never restart); the routed tools behind the real caddy like every other service;
// doctor's socket rule on the shipped files and on every way of mounting the socket.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadRegistry, type Route } from '../lib/model/registry.ts'
import { activeRoutes } from '../lib/model/routes.ts'
import { readSettings } from '../lib/model/settings.ts'
import { renderCaddyfile } from '../lib/caddy/render.ts'
import { runDoctor } from '../lib/doctor/checks.ts'
import { loadEnvLayers } from '../lib/env/layers.ts'
import { validateComposeFile } from '../lib/model/compose-spec.ts'
import { REPO } from './helpers/repo.ts'
import { freePort, get, requireCaddy, startCaddy, stopCaddies } from './helpers/caddy.ts'

const FILE = 'compose/05-ops/docker-compose.yml'
const registry = loadRegistry(REPO)
const ops = registry.stack('ops')
const raw = parse(readFileSync(join(REPO, FILE), 'utf8')) as { services: Record<string, Record<string, any>>; networks: Record<string, any> }
const TOOLS = { dozzle: 'docker-proxy-read', glances: 'docker-proxy-read', portainer: 'docker-proxy-portainer', watchtower: 'docker-proxy-watchtower' } as const

/** wollomatic/socket-proxy anchors every pattern (^…$) and matches the request path; one list per HTTP method */
function allowlists(proxy: string): { from: string[]; allow: Record<string, RegExp[]> } {
  const args = (raw.services[proxy].command as string[]).map(String)
  const from = args.find((a) => a.startsWith('-allowfrom='))!.slice('-allowfrom='.length).split(',')
  const allow: Record<string, RegExp[]> = {}
  for (const a of args) {
    const m = /^-allow(GET|HEAD|POST|PUT|PATCH|DELETE)=(.*)$/.exec(a)
    if (m) (allow[m[1]] ??= []).push(new RegExp(`^(?:${m[2]})$`))
  }
  return { from, allow }
}
const allowed = (proxy: string, method: string, path: string) => (allowlists(proxy).allow[method] ?? []).some((r) => r.test(path))

test('each tool is behind its own profile, off by default; valid compose; images pinned; the socket mounted only by the proxies, read-only', () => {
  assert.deepEqual(validateComposeFile(join(REPO, FILE), FILE), [])
  assert.deepEqual(ops.profiles, ['dozzle', 'glances', 'portainer', 'watchtower'])
  for (const [tool, proxy] of Object.entries(TOOLS)) {
    const svc = ops.services.find((s) => s.name === tool)!
    assert.deepEqual(svc.profiles, [tool], `${tool}: its own profile`)
    assert.ok(registry.services.find((s) => s.name === proxy)!.profiles.includes(tool), `${proxy} runs with ${tool}`)
  }
  const off = readSettings({})
  assert.deepEqual(activeRoutes(registry, off, {}).filter((r) => r.stack === 'ops'), [], 'nothing of ops runs by default')
  const on = activeRoutes(registry, readSettings({ STACKYARD_PROFILES: 'dozzle,glances,portainer,watchtower' }), {}).filter((r) => r.stack === 'ops')
  assert.deepEqual(on.map((r) => [r.service, r.subdomain, r.local_port, r.access]), [['dozzle', 'dozzle', 8500, 'protected'], ['glances', 'glances', 8501, 'protected'], ['portainer', 'portainer', 8502, 'protected']])
  const mounting = registry.services.filter((s) => JSON.stringify(s.raw.volumes ?? []).includes('docker.sock'))
  assert.deepEqual(mounting.map((s) => s.name).sort(), ['docker-proxy-portainer', 'docker-proxy-read', 'docker-proxy-watchtower'])
  for (const s of mounting) {
    assert.equal(s.socketProxy, true, `${s.name}: x-socket-proxy`)
    assert.deepEqual(s.raw.volumes, ['/var/run/docker.sock:/var/run/docker.sock:ro'])
    assert.equal(s.raw.read_only, true)
    assert.equal(s.image, 'wollomatic/socket-proxy:1.13.1')
  }
})

test('each proxy is on an internal network only it and its consumers join, answers only them, and its consumer is pointed at it', () => {
  for (const [tool, proxy] of Object.entries(TOOLS)) {
    const nets = raw.services[proxy].networks as string[]
    assert.equal(nets.length, 1, `${proxy}: one network`)
    assert.equal(raw.networks[nets[0]].internal, true, `${proxy}: ${nets[0]} is internal`)
    const joiners = Object.entries(raw.services).filter(([, s]) => (s.networks ?? []).includes(nets[0])).map(([n]) => n).sort()
    assert.deepEqual(joiners, [proxy, ...Object.entries(TOOLS).filter(([, p]) => p === proxy).map(([t]) => t)].sort(), `${nets[0]}: only ${proxy} and its consumers`)
    assert.ok(allowlists(proxy).from.includes(tool), `${proxy} answers ${tool}`)
    assert.deepEqual(allowlists(proxy).from.sort(), Object.entries(TOOLS).filter(([, p]) => p === proxy).map(([t]) => t).sort())
    const env = raw.services[tool].environment ?? {}
    const hostOf = tool === 'portainer' ? (raw.services[tool].command as string[])[1] : env.DOCKER_HOST
    assert.equal(hostOf, `tcp://${proxy}:2375`, `${tool} reaches Docker through ${proxy}`)
    assert.deepEqual(raw.services[tool].depends_on, { [proxy]: { condition: 'service_healthy' } })
  }
  assert.equal(raw.services.watchtower.environment.WATCHTOWER_MONITOR_ONLY, 'true', 'watchtower reports, never restarts')
})

test('the allowlists: logs and stats read-only for Dozzle and Glances; pulls but no container changes for Watchtower; management without swarm, secrets or builds for Portainer', () => {
  const v = '/v1.47'
  // read-only: what a log viewer and a monitor read, nothing else
  for (const p of ['/_ping', `${v}/version`, `${v}/info`, `${v}/events`, `${v}/containers/json`, `${v}/containers/abc123/json`, `${v}/containers/abc123/logs`, `${v}/containers/abc123/stats`])
    assert.ok(allowed('docker-proxy-read', 'GET', p), `read: GET ${p}`)
  for (const p of [`${v}/containers/abc123/archive`, `${v}/containers/abc123/export`, `${v}/images/json`, `${v}/secrets`, `${v}/exec/x/json`, `${v}/containers/abc/logs/../../secrets`])
    assert.ok(!allowed('docker-proxy-read', 'GET', p), `read: no GET ${p}`)
  assert.deepEqual(Object.keys(allowlists('docker-proxy-read').allow).sort(), ['GET', 'HEAD'], 'read-only: no method that changes anything')
  // watchtower: inspect and pull, never create/start/stop/remove
  for (const p of [`${v}/containers/json`, `${v}/containers/abc/json`, `${v}/images/nginx:1.27/json`]) assert.ok(allowed('docker-proxy-watchtower', 'GET', p), `watchtower: GET ${p}`)
  assert.ok(allowed('docker-proxy-watchtower', 'POST', `${v}/images/create`))
  for (const p of [`${v}/containers/create`, `${v}/containers/abc/start`, `${v}/containers/abc/stop`, `${v}/containers/abc/restart`, `${v}/containers/abc/kill`, `${v}/images/abc/tag`])
    assert.ok(!allowed('docker-proxy-watchtower', 'POST', p), `watchtower: no POST ${p}`)
  assert.ok(!allowlists('docker-proxy-watchtower').allow.DELETE)
  // portainer: containers, images, networks, volumes, exec; no swarm, secrets, configs, builds, plugins, auth
  for (const p of [`${v}/containers/create`, `${v}/containers/abc/restart`, `${v}/images/create`, `${v}/volumes/create`, `${v}/containers/abc/exec`, `${v}/exec/x/start`])
    assert.ok(allowed('docker-proxy-portainer', 'POST', p), `portainer: POST ${p}`)
  for (const p of [`${v}/build`, `${v}/swarm/init`, `${v}/services/create`, `${v}/secrets/create`, `${v}/configs/create`, `${v}/plugins/pull`, `${v}/auth`, `${v}/commit`])
    assert.ok(!allowed('docker-proxy-portainer', 'POST', p), `portainer: no POST ${p}`)
})

// ------------------------------------------------------------------------------------------- behind the real caddy

const PROFILES = 'dozzle,glances,portainer,watchtower'
const routesOf = (environment: 'private' | 'public') =>
  activeRoutes(registry, readSettings({ STACKYARD_PROFILES: PROFILES, STACKYARD_ENVIRONMENT: environment, DOMAIN: 'example.test' }), {}).filter((r) => r.stack === 'ops')
const servers: Server[] = []
const dir = mkdtempSync(join(tmpdir(), 'stackyard-ops-caddy-'))
after(async () => {
  stopCaddies()
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>((ok) => s.close(() => ok()))
  }
  rmSync(dir, { recursive: true, force: true })
})

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const s = createServer(handler)
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  servers.push(s)
  return (s.address() as AddressInfo).port
}
async function caddy(text: string, health: number): Promise<void> {
  const file = join(dir, `${health}.caddy`)
  writeFileSync(file, text)
  await startCaddy(file, health, { DOMAIN: 'example.test' })
}

test('behind the real caddy: each routed tool at its subdomain (public) and its local port (private), each to its own service', async () => {
  requireCaddy()
  const upstreams: Record<string, number> = {}
  for (const r of routesOf('public')) upstreams[r.service] = await listen((req, res) => res.end(JSON.stringify({ service: r.service, host: req.headers.host })))
  const upstream = (r: Route) => `127.0.0.1:${upstreams[r.service]}`
  const pub = await freePort()
  await caddy(renderCaddyfile({ environment: 'public', routes: routesOf('public'), upstream, httpPort: pub, bind: '127.0.0.1', admin: 'off', addons: false }), pub)
  for (const r of routesOf('public')) {
    const res = await get(pub, `${r.subdomain}.example.test`)
    assert.equal(res.status, 200, r.subdomain)
    assert.equal(JSON.parse(res.text).service, r.service)
  }
  const http = await freePort()
  const local: Record<string, number> = {}
  for (const r of routesOf('private')) local[r.service] = await freePort()
  await caddy(renderCaddyfile({ environment: 'private', routes: routesOf('private'), upstream, httpPort: http, localPort: (r) => local[r.service], bind: '127.0.0.1', admin: 'off', addons: false }), http)
  for (const r of routesOf('private')) assert.equal(JSON.parse((await get(local[r.service])).text).service, r.service, `${r.service} on its local port`)
  // the shipped rendering with every ops profile on validates
  const shipped = join(dir, 'shipped.caddy')
  const all = activeRoutes(registry, readSettings({ STACKYARD_PROFILES: PROFILES, STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.test' }), {})
  writeFileSync(shipped, renderCaddyfile({ environment: 'public', routes: all }))
  const v = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', shipped], { env: { ...process.env, DOMAIN: 'example.test', CADDY_LOG_LEVEL: 'INFO' }, encoding: 'utf8' })
  assert.equal(v.status, 0, v.stderr)
  assert.match(readFileSync(shipped, 'utf8'), /reverse_proxy dozzle:8080 \{/)
})

// ---------------------------------------------------------------------------------------------------- doctor

/** A copy of compose/ with one file changed, and doctor's socket check on it. */
async function socketCheck(edit: (files: Record<string, string>) => void) {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-socket-'))
  try {
    cpSync(join(REPO, 'compose'), join(root, 'compose'), { recursive: true })
    cpSync(join(REPO, '.env.global'), join(root, '.env.global'))
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
    const files: Record<string, string> = {}
    edit(files)
    for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text)
    const results = await runDoctor({ root, registry: () => loadRegistry(root), env: () => loadEnvLayers({ root }), gitTracked: async () => false })
    return results.find((r) => r.id === 'docker-socket')!
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
const read = (f: string) => readFileSync(join(REPO, f), 'utf8')
const APPS = 'compose/03-apps/docker-compose.yml'
const addToSearxng = (volume: string) => (files: Record<string, string>) => {
  files[APPS] = read(APPS).replace('      - ./searxng:/etc/searxng:ro\n', `      - ./searxng:/etc/searxng:ro\n${volume}`)
}

test('doctor: the shipped stacks pass the socket rule; every way of mounting the socket directly fails, naming the service and the fix', async () => {
  const ok = await socketCheck(() => undefined)
  assert.equal(ok.status, 'ok')
  assert.equal(ok.summary, 'mounted only by 3 socket proxies, read-only, on internal networks')
  const cases: Array<[string, (files: Record<string, string>) => void]> = [
    ['short syntax', addToSearxng('      - /var/run/docker.sock:/var/run/docker.sock\n')],
    ['read-only does not make it safe', addToSearxng('      - /var/run/docker.sock:/var/run/docker.sock:ro\n')],
    ['another path ending in docker.sock', addToSearxng('      - /run/user/1000/docker.sock:/var/run/docker.sock\n')],
    ['a variable with the socket as default', addToSearxng('      - ${DOCKER_SOCK:-/var/run/docker.sock}:/var/run/docker.sock\n')],
    ['long syntax', addToSearxng('      - type: bind\n        source: /var/run/docker.sock\n        target: /var/run/docker.sock\n        read_only: true\n')],
    ['in an override file', (files) => (files['compose/03-apps/docker-compose.override.public.yml'] = read('compose/03-apps/docker-compose.override.public.yml') + '    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n')],
  ]
  for (const [what, edit] of cases) {
    const r = await socketCheck(edit)
    assert.equal(r.status, 'fail', what)
    assert.match(r.findings[0].message, /services\.(searxng|n8n) mounts the Docker socket directly/, what)
    assert.match(r.findings[0].fix ?? '', /socket proxy/, what)
  }
  // a declared proxy: read-only and internal networks only
  const rw = await socketCheck((files) => (files['compose/05-ops/docker-compose.yml'] = read('compose/05-ops/docker-compose.yml').replace('/var/run/docker.sock:/var/run/docker.sock:ro', '/var/run/docker.sock:/var/run/docker.sock')))
  assert.equal(rw.status, 'warn')
  assert.match(rw.findings[0].message, /docker-proxy-read \(the socket proxy\) mounts \/var\/run\/docker\.sock read-write/)
  const open = await socketCheck((files) => (files['compose/05-ops/docker-compose.yml'] = read('compose/05-ops/docker-compose.yml').replace('    networks: [docker-read]\n', '    networks: [default, docker-read]\n')))
  assert.equal(open.status, 'fail')
  assert.match(open.findings[0].message, /docker-proxy-read \(a socket proxy\) joins "default", not an internal network/)
})
