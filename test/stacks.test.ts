// The stacks behind the proxy (data, compute, apps), checked from their declarations: compose-spec validity, the
// per-service rules (pinned image, health on 127.0.0.1, least privileges, expose only, stable names), routes and
// secrets, every variable accounted for (compose files, overrides, the per-app database script), the URLs the apps
// need about themselves in both environments, SearXNG's settings, and hardware variants of Ollama.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { loadRegistry, type Service } from '../lib/model/registry.ts'
import { validateComposeFile } from '../lib/model/compose-spec.ts'
import { parseDotenv, interpolate } from '../lib/env/dotenv.ts'
import { activeRoutes, derivedEnv } from '../lib/model/routes.ts'
import { hardwareVariants } from '../lib/model/registry.ts'
import { readSettings } from '../lib/model/settings.ts'
import { repoRoot } from '../lib/core/paths.ts'

const registry = loadRegistry(repoRoot)
const OURS = ['data', 'compute', 'apps']
const composeFiles = registry.stacks.flatMap((s) => [s.file, ...Object.values(s.overrides)])
const doc = (file: string) => parseYaml(readFileSync(join(repoRoot, file), 'utf8')) as Record<string, any>
const service = (name: string) => registry.services.find((s) => s.name === name)!
const env = (name: string) => service(name).raw.environment as Record<string, string>

test('every compose file, base and override, is valid against the compose-spec schema', () => {
  for (const s of OURS) assert.ok(registry.stack(s), `stack ${s} is missing`)
  const files = readdirSync(join(repoRoot, 'compose')).flatMap((folder) =>
    readdirSync(join(repoRoot, 'compose', folder)).filter((f) => f.endsWith('.yml')).map((f) => `compose/${folder}/${f}`),
  )
  assert.ok(files.includes('compose/03-apps/docker-compose.override.public.yml'))
  assert.deepEqual([...files].sort(), [...composeFiles].sort(), 'every compose file on disk is one the registry uses')
  for (const f of files) assert.deepEqual(validateComposeFile(join(repoRoot, f), f), [], f)
})

test('the stacks: numbered folders, stable project names, dependencies, profiles', () => {
  const summary = registry.stacks.map((s) => ({ name: s.name, folder: s.folder, project: s.project, after: s.after, profiles: s.profiles }))
  assert.deepEqual(summary.filter((s) => OURS.includes(s.name)), [
    { name: 'data', folder: '01-data', project: 'stackyard-data', after: [], profiles: [] },
    { name: 'compute', folder: '02-compute', project: 'stackyard-compute', after: [], profiles: ['cpu', 'gpu-amd', 'gpu-nvidia'] },
    { name: 'apps', folder: '03-apps', project: 'stackyard-apps', after: ['data', 'compute'], profiles: [] },
  ])
  assert.deepEqual(registry.select(['apps']).map((s) => s.name), ['data', 'compute', 'apps'], 'apps pulls in what it runs after')
  assert.deepEqual(registry.stacks.find((s) => s.name === 'apps')!.services.map((s) => s.name), ['n8n', 'openwebui', 'flowise', 'searxng'])
})

/**
 * Images without a shell or an HTTP client (scratch images) ship a probe of their own; each is listed with the image
 * it belongs to. What they probe: wollomatic/socket-proxy's /healthcheck GETs http://127.0.0.1:55555/health; Dozzle's
 * `healthcheck` GETs its own /healthcheck and pings Docker; Watchtower's --health-check checks its process.
 */
const OWN_PROBES: Record<string, string> = { '/healthcheck': 'wollomatic/socket-proxy:', '/dozzle healthcheck': 'amir20/dozzle:', '/watchtower --health-check': 'nickfedor/watchtower:' }

test('every service: pinned image, health check on 127.0.0.1, least privileges, no published ports, the shared network', () => {
  for (const stack of registry.stacks) {
    const d = doc(stack.file)
    assert.deepEqual(d.networks?.default, { external: true, name: 'ai-network' }, `${stack.file}: the shared network, external`)
    for (const [name, vol] of Object.entries((d.volumes ?? {}) as Record<string, { name?: string }>))
      assert.match(vol?.name ?? '', /^stackyard-[a-z0-9-]+$/, `${stack.file}: volume ${name} has a stable explicit name`)
    for (const svc of stack.services) {
      const raw = svc.raw as Record<string, any>
      const where = `${stack.file}: ${svc.name}`
      assert.match(svc.image ?? '', /^[a-z0-9./-]+:[A-Za-z0-9._-]+$/, `${where}: image with a tag`)
      assert.doesNotMatch(svc.image!, /:(latest|main|stable|rocm)$/, `${where}: a pinned version, not a moving tag`)
      assert.doesNotMatch(svc.image!, /\$/, `${where}: the version is in the file`)
      const health = (raw.healthcheck?.test ?? []) as string[]
      assert.equal(health[0], 'CMD', `${where}: exec-form health check`)
      const own = OWN_PROBES[health.slice(1).join(' ')]
      if (own) assert.ok(svc.image!.startsWith(own), `${where}: ${health.slice(1).join(' ')} is the probe of ${own} images only`)
      else assert.ok(health.join(' ').includes('127.0.0.1'), `${where}: health check probes 127.0.0.1`)
      assert.ok(!health.join(' ').includes('localhost'), `${where}: health check never probes localhost (::1)`)
      assert.deepEqual(raw.cap_drop, ['ALL'], `${where}: cap_drop [ALL]`)
      assert.deepEqual(raw.security_opt, ['no-new-privileges:true'], `${where}: no-new-privileges`)
      assert.equal(raw.ports, undefined, `${where}: expose, never publish (the proxy publishes local ports)`)
      assert.equal(raw.container_name, undefined, `${where}: no fixed container name`)
      if (svc.route) assert.ok((raw.expose ?? []).map(String).includes(String(svc.route.port)), `${where}: exposes its routed port`)
    }
  }
  // the only added capabilities are those of entrypoints that drop privileges (postgres images)
  for (const svc of registry.services.filter((s) => OURS.includes(s.stack) && (s.raw as any).cap_add))
    assert.deepEqual([svc.name, (svc.raw as any).cap_add], ['postgres', ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID']])
})

test('routes: one per app, protected, distinct local ports in a per-stack block, nothing public', () => {
  const routes = registry.routes.filter((r) => OURS.includes(r.stack))
  const byService = Object.fromEntries(routes.map((r) => [r.service, [r.subdomain, r.port, r.local_port, r.access, r.urlEnv]]))
  assert.deepEqual(byService, {
    'ollama-cpu': ['ollama', 11434, 8200, 'protected', 'OLLAMA_URL'],
    'ollama-gpu-nvidia': ['ollama', 11434, 8200, 'protected', 'OLLAMA_URL'],
    'ollama-gpu-amd': ['ollama', 11434, 8200, 'protected', 'OLLAMA_URL'],
    n8n: ['n8n', 5678, 8300, 'protected', 'N8N_URL'],
    openwebui: ['openwebui', 8080, 8301, 'protected', 'OPENWEBUI_URL'],
    flowise: ['flowise', 3000, 8302, 'protected', 'FLOWISE_URL'],
    searxng: ['searxng', 8080, 8303, 'protected', 'SEARXNG_URL'],
  })
  // 82xx is stack 02's block, 83xx stack 03's: far from Infisical's 8020 and from each other
  for (const r of routes) assert.equal(Math.floor(r.local_port / 100), 80 + registry.stack(r.stack).order, `${r.service}: ${r.local_port}`)
  const others = registry.routes.filter((r) => !OURS.includes(r.stack)).map((r) => r.local_port)
  for (const r of routes) assert.ok(!others.includes(r.local_port), `${r.service}: ${r.local_port} collides with another stack`)
})

test('secrets: every app secret declared once, in the format the app expects', () => {
  const decl = (key: string) => {
    const d = registry.secrets.get(key)
    assert.ok(d, `${key} is not declared`)
    return { stack: d.stack, ...d.spec, description: undefined }
  }
  const hex32 = (stack: string) => ({ stack, format: 'hex', bytes: 32, description: undefined })
  const password = (stack: string, check?: object) => ({ stack, format: 'password', length: 32, description: undefined, ...(check ? { check } : {}) })
  // each database password is proven against its role by doctor --live
  assert.deepEqual(decl('POSTGRES_PASSWORD'), password('data', { method: 'pg-login', service: 'postgres', role: 'postgres', database: 'postgres' }))
  for (const app of ['N8N', 'OPENWEBUI', 'FLOWISE'])
    assert.deepEqual(decl(`${app}_DB_PASSWORD`), password('data', { method: 'pg-login', service: 'postgres', role: app.toLowerCase() }))
  for (const k of ['N8N_USER_MANAGEMENT_JWT_SECRET', 'OPENWEBUI_SECRET_KEY', 'FLOWISE_JWT_AUTH_TOKEN_SECRET', 'FLOWISE_JWT_REFRESH_TOKEN_SECRET', 'FLOWISE_SESSION_SECRET', 'FLOWISE_TOKEN_HASH_SECRET', 'SEARXNG_SECRET'])
    assert.deepEqual(decl(k), hex32('apps'))
  // the keys that encrypt stored data: a rotation refuses them; n8n's is proven against the copy in its data folder
  const { rotate: n8nRotate, ...n8n } = decl('N8N_ENCRYPTION_KEY')
  assert.deepEqual(n8n, { ...hex32('apps'), check: { method: 'file-json', service: 'n8n', path: '/home/node/.n8n/config', field: 'encryptionKey' } })
  const { rotate: flowiseRotate, ...flowise } = decl('FLOWISE_ENCRYPTION_KEY')
  assert.deepEqual(flowise, hex32('apps'))
  for (const r of [n8nRotate, flowiseRotate, registry.secrets.get('INFISICAL_ENCRYPTION_KEY')!.spec.rotate]) assert.equal(r?.method, 'refuse')
  // each reaches its app under the name the app reads
  assert.equal(env('n8n').N8N_ENCRYPTION_KEY, '${N8N_ENCRYPTION_KEY:?run npx zx tasks/secrets.ts generate}')
  assert.match(env('openwebui').WEBUI_SECRET_KEY, /^\$\{OPENWEBUI_SECRET_KEY:\?/)
  assert.match(env('flowise').FLOWISE_SECRETKEY_OVERWRITE, /^\$\{FLOWISE_ENCRYPTION_KEY:\?/)
  assert.match(env('searxng').SEARXNG_SECRET, /^\$\{SEARXNG_SECRET:\?/)
})

test('every variable referenced by a compose file is accounted for: .env.global, a declared secret, derived, or defaulted', () => {
  const global = parseDotenv(readFileSync(join(repoRoot, '.env.global'), 'utf8'))
  const derived = new Set(registry.routes.map((r) => r.urlEnv))
  const unaccounted = registry.variables.filter((v) => {
    if (registry.secrets.has(v.name) || derived.has(v.name)) return false
    if (v.name in global) return v.required ? global[v.name] === '' && !registry.secrets.has(v.name) : false
    return v.required || !v.hasDefault
  })
  assert.deepEqual(unaccounted.map((v) => `${v.file} ${v.path} \${${v.name}}`), [])
  // and the other way round: every secret our stacks declare is used by some compose file
  const used = new Set(registry.variables.map((v) => v.name))
  for (const d of registry.secrets.values()) if (OURS.includes(d.stack)) assert.ok(used.has(d.key), `${d.key} is declared but no compose file uses it`)
  // a derived URL is never silently empty: every use fails loudly when it is missing
  for (const v of registry.variables.filter((x) => derived.has(x.name) && OURS.some((s) => x.file.includes(registry.stack(s).folder))))
    assert.ok(v.required, `${v.file} ${v.path}: \${${v.name}} should be \${${v.name}:?…}`)
})

test('the per-app database script reads only what the postgres service gives it', () => {
  const script = readFileSync(join(repoRoot, 'compose/01-data/postgres/app-databases.sh'), 'utf8')
  assert.ok(statSync(join(repoRoot, 'compose/01-data/postgres/app-databases.sh')).mode & 0o100, 'executable (the entrypoint sources a non-executable .sh)')
  const pg = service('postgres').raw as Record<string, any>
  assert.ok((pg.volumes as string[]).includes('./postgres/app-databases.sh:/docker-entrypoint-initdb.d/10-app-databases.sh:ro'))
  const given = pg.environment as Record<string, string>
  const assigned = new Set([...script.matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]))
  const read = new Set([...script.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]).filter((n) => !assigned.has(n)))
  assert.deepEqual([...read].sort(), ['APP_DATABASES', 'APP_EXTENSIONS', 'POSTGRES_USER'])
  for (const name of read) assert.ok(name in given, `the script reads ${name}; the postgres service does not set it`)
  // each app: a password variable in the service's environment that is a declared password secret, used by the app
  const apps = given.APP_DATABASES.split(/\s+/)
  assert.deepEqual(apps, ['n8n', 'openwebui', 'flowise'])
  assert.equal(given.APP_EXTENSIONS, 'vector')
  const consumers: Record<string, () => string> = {
    n8n: () => env('n8n').DB_POSTGRESDB_PASSWORD,
    openwebui: () => env('openwebui').DATABASE_URL,
    flowise: () => env('flowise').DATABASE_PASSWORD,
  }
  for (const app of apps) {
    const key = `${app.toUpperCase()}_DB_PASSWORD`
    assert.equal(given[key], `\${${key}:?run npx zx tasks/secrets.ts generate}`)
    assert.equal(registry.secrets.get(key)?.spec.format, 'password')
    assert.ok(consumers[app]().includes(`\${${key}:?`), `${app} connects with ${key}`)
  }
  assert.equal(env('n8n').DB_POSTGRESDB_DATABASE, 'n8n')
  assert.equal(env('n8n').DB_POSTGRESDB_USER, 'n8n')
  assert.match(env('openwebui').DATABASE_URL, /^postgresql:\/\/openwebui:\$\{[^}]+\}@postgres:5432\/openwebui$/)
  assert.deepEqual([env('flowise').DATABASE_NAME, env('flowise').DATABASE_USER, env('flowise').DATABASE_HOST], ['flowise', 'flowise', 'postgres'])
  // no password ever on a command line: psql gets names, and reads the value with \getenv
  assert.doesNotMatch(script, /--set\s+\w*=?"?\$\{?!/, 'a password value on psql argv')
  assert.match(script, /\\getenv pw :pwvar/)
  assert.match(script, /SET log_min_error_statement = panic;/)
})

test('URLs the apps need about themselves: http://localhost:<port> in private, https://<sub>.<domain> in public, never https://:port', () => {
  const settings = {
    private: readSettings({ STACKYARD_ENVIRONMENT: 'private' }),
    public: readSettings({ STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com' }),
  }
  const expected = {
    private: { n8nWebhook: 'http://localhost:8300/', n8nEditor: 'http://localhost:8300', webui: 'http://localhost:8301', flowise: 'http://localhost:8302', searxng: 'http://localhost:8303/' },
    public: { n8nWebhook: 'https://n8n.example.com/', n8nEditor: 'https://n8n.example.com', webui: 'https://openwebui.example.com', flowise: 'https://flowise.example.com', searxng: 'https://searxng.example.com/' },
  }
  for (const e of ['private', 'public'] as const) {
    const derived = derivedEnv(registry, settings[e])
    const lookup = (name: string) => derived[name]
    const got = {
      n8nWebhook: interpolate(env('n8n').WEBHOOK_URL, lookup),
      n8nEditor: interpolate(env('n8n').N8N_EDITOR_BASE_URL, lookup),
      webui: interpolate(env('openwebui').WEBUI_URL, lookup),
      flowise: interpolate(env('flowise').APP_URL, lookup),
      searxng: interpolate(env('searxng').SEARXNG_BASE_URL, lookup),
    }
    assert.deepEqual(got, expected[e], e)
    for (const url of Object.values(got)) assert.doesNotMatch(url, /^https?:\/\/:/)
    assert.equal(derived.OLLAMA_URL, e === 'private' ? 'http://localhost:8200' : 'https://ollama.example.com')
  }
  // the public override only adjusts what differs behind the tunnel
  assert.deepEqual(doc('compose/03-apps/docker-compose.override.public.yml'), { services: { n8n: { environment: { N8N_PROXY_HOPS: '2' } } } })
  assert.equal(env('n8n').N8N_PROXY_HOPS, '1')
  // the apps find the others by their host names on the shared network
  assert.equal(env('openwebui').OLLAMA_BASE_URL, 'http://ollama:11434')
  assert.equal(env('openwebui').SEARXNG_QUERY_URL, 'http://searxng:8080/search?q=<query>')
})

test('SearXNG: settings mounted read-only and never edited; secret and base URL through the environment', () => {
  const raw = service('searxng').raw as Record<string, any>
  assert.ok((raw.volumes as string[]).includes('./searxng:/etc/searxng:ro'), 'the settings folder is mounted read-only')
  assert.equal(raw.user, '977:977', 'runs as the image\'s unprivileged user (no chown of the mounted folder)')
  const text = readFileSync(join(repoRoot, 'compose/03-apps/searxng/settings.yml'), 'utf8')
  const settings = parseYaml(text) as Record<string, any>
  assert.equal(settings.use_default_settings, true)
  assert.ok(settings.search.formats.includes('json'), 'json for Open WebUI')
  assert.equal(settings.server.secret_key, undefined, 'no secret in a tracked file')
  assert.equal(settings.server.base_url, undefined, 'the base URL is per environment, from SEARXNG_BASE_URL')
  assert.doesNotMatch(text, /ultrasecretkey/)
  assert.equal(settings.server.limiter, false)
  assert.match(env('searxng').SEARXNG_SECRET, /^\$\{SEARXNG_SECRET:\?/)
  assert.match(env('searxng').SEARXNG_BASE_URL, /^\$\{SEARXNG_URL:\?[^}]*\}\/$/)
})

test('compute: one Ollama per hardware profile, the right image and devices, one alias, one volume, one route', () => {
  const variants = registry.stack('compute').services
  const view = Object.fromEntries(variants.map((s) => {
    const raw = s.raw as Record<string, any>
    return [s.name, {
      profiles: s.profiles,
      image: s.image,
      aliases: raw.networks.default.aliases,
      volumes: raw.volumes,
      nvidia: raw.deploy?.resources?.reservations?.devices ?? null,
      devices: raw.devices ?? null,
    }]
  }))
  const common = { aliases: ['ollama'], volumes: ['ollama-data:/root/.ollama'] }
  assert.deepEqual(view, {
    'ollama-cpu': { profiles: ['cpu'], image: 'ollama/ollama:0.32.6', ...common, nvidia: null, devices: null },
    'ollama-gpu-nvidia': { profiles: ['gpu-nvidia'], image: 'ollama/ollama:0.32.6', ...common, nvidia: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }], devices: null },
    'ollama-gpu-amd': { profiles: ['gpu-amd'], image: 'ollama/ollama:0.32.6-rocm', ...common, nvidia: null, devices: ['/dev/kfd', '/dev/dri'] },
  })
  // exactly one runs per hardware profile, and the route points at the one that runs
  for (const profile of ['cpu', 'gpu-nvidia', 'gpu-amd', 'none'] as const) {
    const settings = readSettings({ STACKYARD_PROFILE: profile })
    const routes = activeRoutes(registry, settings, {}).filter((r) => r.stack === 'compute')
    assert.deepEqual(routes.map((r) => r.service), profile === 'none' ? [] : [`ollama-${profile}`], profile)
  }
  const [cpu, nvidia, amd] = variants
  assert.ok(hardwareVariants(cpu, nvidia) && hardwareVariants(nvidia, amd) && hardwareVariants(amd, cpu))
})

test('hardware variants: only services of one stack limited to different hardware profiles', () => {
  const svc = (name: string, stack: string, profiles: string[]): Service => ({ name, stack, profiles, proxy: false, fileEnv: [], raw: {} })
  assert.equal(hardwareVariants(svc('a', 's', ['cpu']), svc('b', 's', ['gpu-amd'])), true)
  assert.equal(hardwareVariants(svc('a', 's', ['cpu']), svc('b', 't', ['gpu-amd'])), false, 'different stacks')
  assert.equal(hardwareVariants(svc('a', 's', ['cpu']), svc('b', 's', ['cpu', 'gpu-amd'])), false, 'both run under cpu')
  assert.equal(hardwareVariants(svc('a', 's', ['cpu']), svc('b', 's', [])), false, 'b always runs')
  assert.equal(hardwareVariants(svc('a', 's', ['infisical']), svc('b', 's', ['tunnel'])), false, 'opt-in profiles can both be on')
  const a = svc('a', 's', ['cpu'])
  assert.equal(hardwareVariants(a, a), false)
})
