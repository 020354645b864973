// Reconciling 20 routed hosts (Access + ingress + DNS) against the loopback fake API, when 1 host changed
// and when none changed, beside a per-host script baseline (one GET and one PUT of the
// tunnel configuration per host, one DNS create per host, IDs hard-coded so no discovery, no sleep between
// hosts). Requests are counted at the fake; wall time is the median of runs.
// Stackyard runs as the apply task does (IDs remembered by the run before; the cold row: nothing remembered)
// and is held to the request goal (≤ 6 for 1 change). Then the Access planner on 2,000 hosts, indexed by
// host, against the quadratic planner it replaced (bench/cloudflare-access-quadratic.ts), same run.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from '../lib/model/registry.ts'
import { readSettings } from '../lib/model/settings.ts'
import { desiredHosts, type CloudflareConfig, type Desired } from '../lib/cloudflare/config.ts'
import { openSession } from '../lib/cloudflare/session.ts'
import { CLOUDFLARE_STATE_FILE, loadRemembered, rememberedContent } from '../lib/cloudflare/memory.ts'
import { applyReconcile, planReconcile } from '../lib/cloudflare/reconcile.ts'
import { createCloudflare } from '../lib/cloudflare/client.ts'
import { tunnelTarget } from '../lib/cloudflare/dns.ts'
import { table } from '../lib/core/format.ts'
import { startFakeCloudflare } from '../test/fake-cloudflare.ts'
import { planAccess } from '../lib/cloudflare/access.ts'
import type { AccessApp, AccessPolicy } from '../lib/cloudflare/client.ts'
import { planAccessQuadratic } from './cloudflare-access-quadratic.ts'
import { median } from './measure.ts'

const HOSTS = 20
const RUNS = 7
/** the goal for 1 changed host */
const GOAL = 6

// a fixture registry: the proxy and 20 routed services, every other one protected
const root = mkdtempSync(join(tmpdir(), 'cf-bench-'))
mkdirSync(join(root, 'compose', '00-bench'), { recursive: true })
const services = Array.from({ length: HOSTS }, (_, i) => `  svc${i}:\n    image: nginx:1.27.3\n    x-route: { subdomain: app${i}, port: 80, local_port: ${20000 + i}, access: ${i % 2 ? 'public' : 'protected'} }\n`).join('')
writeFileSync(
  join(root, 'compose', '00-bench', 'docker-compose.yml'),
  `name: bench\nx-stackyard:\n  description: benchmark fixture\nservices:\n  caddy:\n    image: caddy:2.10.2-alpine\n    x-proxy: true\n    expose: ["80"]\n${services}`,
)
const registry = loadRegistry(root)
const values = { STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com' }
const all = desiredHosts(registry, readSettings(values), values)
// the changed host is a protected one: a new Access app, an ingress rule with its AUD, a DNS record
const changedHost = all.hosts.filter((h) => h.access === 'protected').at(-1)!.host
const minusOne: Desired = { ...all, hosts: all.hosts.filter((h) => h.host !== changedHost) }

const fake = await startFakeCloudflare({ maxPerPage: 100 })
const account = fake.account()
const zone = fake.zone('example.com', account)
const tunnel = fake.tunnel(account, 'stackyard-example.com')
fake.org(account, 'bench.cloudflareaccess.com')
const config: CloudflareConfig = { auth: { token: fake.token() }, baseUrl: fake.url, domain: 'example.com', tunnelName: tunnel.name, access: { emails: ['me@example.com'] } }
const full = { access: true, ingress: true, dns: true }

/** What the apply task does: the session trusts the IDs remembered in .stackyard/cloudflare.json by the run before. */
async function stackyard(d: Desired): Promise<void> {
  const key = { baseUrl: config.baseUrl, domain: config.domain, tunnelName: config.tunnelName }
  const s = openSession({ config, remembered: loadRemembered(root, key) })
  const plan = await planReconcile(s, d, full, config.access)
  if (plan.writes) await applyReconcile(s, plan)
  mkdirSync(join(root, '.stackyard'), { recursive: true })
  writeFileSync(join(root, CLOUDFLARE_STATE_FILE), rememberedContent(key, s.remembered()), { mode: 0o600 })
}

/** The per-host baseline: per host GET + PUT of the whole configuration, then one POST per DNS record (duplicates fail). */
async function perHost(d: Desired): Promise<void> {
  const cf = createCloudflare({ auth: config.auth, baseUrl: fake.url })
  for (const h of d.hosts) {
    const cur = await cf.tunnelConfiguration(account, tunnel.id)
    const ingress = (cur.config?.ingress ?? []).filter((r) => r.service !== 'http_status:404')
    if (!ingress.some((r) => r.hostname === h.host)) ingress.push({ hostname: h.host, service: d.proxyUrl })
    await cf.putTunnelConfiguration(account, tunnel.id, { ...cur.config, ingress: [...ingress, { service: 'http_status:404' }] })
  }
  for (const h of d.hosts) await cf.createDnsRecord(zone, { type: 'CNAME', name: h.host, content: tunnelTarget(tunnel.id), proxied: true, ttl: 1 }).catch(() => undefined)
}

/** Takes the changed host out again (state only, no requests), so each "1 changed" run starts alike. */
function forgetChangedHost(): void {
  fake.state.apps = fake.state.apps.filter((a) => a.domain !== changedHost)
  fake.state.records = fake.state.records.filter((r) => r.name !== changedHost)
  const cfg = tunnel.config as { ingress: Array<{ hostname?: string }> } | null
  if (cfg) cfg.ingress = cfg.ingress.filter((r) => r.hostname !== changedHost)
}

async function measure(prepare: () => Promise<void> | void, run: () => Promise<void>): Promise<{ requests: number; writes: number; ms: number }> {
  const times: number[] = []
  let requests = 0
  let writes = 0
  for (let i = 0; i < RUNS; i++) {
    await prepare()
    const from = fake.server.requests.length
    const t = performance.now()
    await run()
    times.push(performance.now() - t)
    requests = fake.server.requests.length - from
    writes = fake.writes(from).length
  }
  times.sort((a, b) => a - b)
  return { requests, writes, ms: times[Math.floor(times.length / 2)] }
}

/** Forgets the remembered IDs (and the changed host), so the run discovers everything as a first run does. */
function coldAndForget(): void {
  rmSync(join(root, CLOUDFLARE_STATE_FILE), { force: true })
  forgetChangedHost()
}

await stackyard(minusOne)
const oneChanged = await measure(forgetChangedHost, () => stackyard(all))
const noneChanged = await measure(() => undefined, () => stackyard(all))
const cold = await measure(coldAndForget, () => stackyard(all))
const perHostOne = await measure(forgetChangedHost, () => perHost(all))
const perHostNone = await measure(() => undefined, () => perHost(all))

const row = (name: string, r: { requests: number; writes: number; ms: number }, base: { requests: number; ms: number }, goal = '') => [
  name,
  String(r.requests),
  String(r.writes),
  `${r.ms.toFixed(1)} ms`,
  (r.requests / base.requests).toFixed(2),
  (r.ms / base.ms).toFixed(2),
  goal,
]
const goal = (r: { requests: number }) => `≤ ${GOAL}: ${r.requests <= GOAL ? 'met' : 'MISSED'}`
console.log(`${HOSTS} routed hosts (${all.hosts.filter((h) => h.access === 'protected').length} protected), fake Cloudflare API on loopback, median of ${RUNS} runs`)
console.log(
  table([
    ['case', 'requests', 'writes', 'wall', 'requests ratio', 'time ratio', 'goal (requests)'],
    row('per-host baseline, 1 changed', perHostOne, perHostOne),
    row('stackyard apply, 1 changed', oneChanged, perHostOne, goal(oneChanged)),
    row('stackyard cold run, 1 changed', cold, perHostOne),
    row('per-host baseline, none changed', perHostNone, perHostNone),
    row('stackyard apply, none changed', noneChanged, perHostNone),
  ]),
)
console.log('(stackyard trusts the IDs and team domain the run before remembered and reconciles Access; the cold run discovers zone, account, tunnel and team domain; the baseline does none of that)')
await fake.close()
rmSync(root, { recursive: true, force: true })

// the Access planner on 2,000 hosts (every other one protected): the apps of 999 of the 1,000 protected hosts exist, plus 1,000 foreign apps
const N = 2000
const manyHosts = Array.from({ length: N }, (_, i) => ({ host: `h${i}.example.com`, service: `s${i}`, stack: 'bench', access: i % 2 ? ('public' as const) : ('protected' as const), audEnv: `H${i}_ACCESS_AUD` }))
const policy: AccessPolicy = { id: 'p-allow', name: 'Stackyard allow', decision: 'allow', include: [{ email: { email: 'me@example.com' } }], exclude: [], require: [] }
const appOf = (host: string, i: number, name = `${host} (Stackyard)`): AccessApp => ({ id: `app-${i}`, aud: i.toString(16).padStart(64, '0'), name, domain: host, type: 'self_hosted', destinations: [{ type: 'public', uri: host }], policies: [{ id: policy.id }] })
const manyApps = [
  ...manyHosts.filter((h) => h.access === 'protected').slice(1).map((h, i) => appOf(h.host, i)),
  ...Array.from({ length: 1000 }, (_, i) => appOf(`other${i}.example.org`, N + i, `other ${i}`)),
]
const input = { org: { auth_domain: 'bench.cloudflareaccess.com' }, apps: manyApps, policies: [policy], hosts: manyHosts, domain: 'example.com', identities: { emails: ['me@example.com'] } }
const same = JSON.stringify(planAccess(input).appOps) === JSON.stringify(planAccessQuadratic(input).appOps)
const quadratic = median(() => planAccessQuadratic(input), 3, 1)
const indexed = median(() => planAccess(input), 15)
console.log(`\nAccess planner, ${N} hosts and ${manyApps.length} apps, median wall time (same plan: ${same ? 'yes' : 'NO'})`)
console.log(
  table([
    ['case', 'wall', 'time ratio'],
    ['hosts × apps baseline (before)', `${quadratic.toFixed(1)} ms`, '1.00'],
    ['apps indexed by host', `${indexed.toFixed(1)} ms`, (indexed / quadratic).toFixed(3)],
  ]),
)
if (oneChanged.requests > GOAL || !same) process.exitCode = 1
