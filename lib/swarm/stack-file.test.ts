import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deriveStackFile, renderStackFile, seconds, SPEC_LABEL } from './stack-file.ts'
import { secretName, secretVariables } from './secrets.ts'
import { checkoutFiles, configName } from './configs.ts'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'

const registry = loadRegistry(repoRoot)
const values: Record<string, string> = { POSTGRES_PASSWORD: 'pg-secret-1', N8N_DB_PASSWORD: 'n8n-secret', OPENWEBUI_DB_PASSWORD: 'owu-secret', FLOWISE_DB_PASSWORD: 'fl-secret', INFISICAL_POSTGRES_PASSWORD: 'inf-pg', INFISICAL_ENCRYPTION_KEY: 'enc', INFISICAL_AUTH_SECRET: 'auth' }
const opts = (stack: string) => ({ stack: registry.stack(stack), secretKeys: new Set(registry.secrets.keys()), value: (k: string) => values[k] })

/** the shape `docker compose config --format json` prints (Compose 2.26), for the data stack */
const dataModel = () => ({
  name: 'stackyard-data',
  networks: { default: { name: 'ai-network', ipam: {}, external: true } },
  services: {
    postgres: {
      cap_add: ['CHOWN'], cap_drop: ['ALL'], command: null, entrypoint: null,
      environment: { APP_DATABASES: 'n8n openwebui flowise', POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'pg-secret-1', N8N_DB_PASSWORD: 'n8n-secret', OPENWEBUI_DB_PASSWORD: 'owu-secret', FLOWISE_DB_PASSWORD: 'fl-secret', TZ: 'Etc/UTC', DOLLAR: 'a$$b' },
      expose: ['5432'],
      healthcheck: { test: ['CMD', 'pg_isready'], interval: '5s', timeout: '5s', retries: 12, start_period: '30s' },
      image: 'pgvector/pgvector:0.8.6-pg16',
      networks: { default: null },
      restart: 'unless-stopped',
      security_opt: ['no-new-privileges:true'],
      depends_on: { other: { condition: 'service_healthy', required: true } },
      container_name: 'pg', profiles: ['x'],
      ports: [{ mode: 'ingress', host_ip: '127.0.0.1', target: 5432, published: '5433', protocol: 'tcp' }],
      volumes: [
        { type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data', volume: {} },
        { type: 'bind', source: '/repo/compose/01-data/postgres/app-databases.sh', target: '/docker-entrypoint-initdb.d/10-app-databases.sh', read_only: true, bind: { create_host_path: true } },
      ],
      'x-backup': { method: 'pg_dump' },
    },
  },
  volumes: { 'postgres-data': { name: 'stackyard-postgres-data' } },
})

test('secrets in x-file-env variables become Docker secrets: <VAR>_FILE=/run/secrets/KEY, content-hashed names, no value in the file', () => {
  const f = deriveStackFile(dataModel(), opts('data'))
  const pg = f.doc.services.postgres
  const env = pg.environment as Record<string, string>
  assert.equal(env.POSTGRES_PASSWORD, undefined)
  assert.equal(env.POSTGRES_PASSWORD_FILE, '/run/secrets/POSTGRES_PASSWORD')
  assert.equal(env.N8N_DB_PASSWORD_FILE, '/run/secrets/N8N_DB_PASSWORD')
  assert.equal(env.DOLLAR, 'a$$b', 'Compose already escaped $: passed on as is (stack deploy unescapes)')
  assert.deepEqual(f.secrets.map((s) => s.key).sort(), ['FLOWISE_DB_PASSWORD', 'N8N_DB_PASSWORD', 'OPENWEBUI_DB_PASSWORD', 'POSTGRES_PASSWORD'])
  assert.equal(f.secrets.find((s) => s.key === 'POSTGRES_PASSWORD')!.name, secretName('stackyard-data', 'POSTGRES_PASSWORD', 'pg-secret-1'))
  assert.match(f.secrets[0].name, /^stackyard-data_[A-Z0-9_]+_[0-9a-f]{12}$/)
  assert.deepEqual((f.doc.secrets as Record<string, unknown>).POSTGRES_PASSWORD, { external: true, name: f.secrets.find((s) => s.key === 'POSTGRES_PASSWORD')!.name })
  assert.deepEqual(pg.secrets, f.secrets.map((s) => ({ source: s.key, target: s.key })).sort((a, b) => ['POSTGRES_PASSWORD', 'N8N_DB_PASSWORD', 'OPENWEBUI_DB_PASSWORD', 'FLOWISE_DB_PASSWORD'].indexOf(a.source) - ['POSTGRES_PASSWORD', 'N8N_DB_PASSWORD', 'OPENWEBUI_DB_PASSWORD', 'FLOWISE_DB_PASSWORD'].indexOf(b.source)))
  const text = renderStackFile(f)
  for (const v of ['pg-secret-1', 'n8n-secret', 'owu-secret', 'fl-secret']) assert.ok(!text.includes(v), `${v} is not in the file`)
  assert.deepEqual(f.envSecrets, [])
})

test('what Swarm ignores is removed or mapped; deploy carries restart, a health-gated update with rollback, and the spec label', () => {
  const f = deriveStackFile(dataModel(), opts('data'))
  const pg = f.doc.services.postgres
  for (const k of ['depends_on', 'container_name', 'profiles', 'restart', 'security_opt', 'command', 'entrypoint', 'x-backup']) assert.ok(!(k in pg), k)
  const deploy = pg.deploy as Record<string, Record<string, unknown>>
  assert.equal(pg.deploy && (pg.deploy as Record<string, unknown>).endpoint_mode, 'dnsrr')
  assert.deepEqual(deploy.restart_policy, { condition: 'any', delay: '5s', window: '30s' })
  assert.equal(deploy.update_config.failure_action, 'rollback')
  assert.equal(deploy.update_config.order, 'stop-first', 'a named volume: never two copies')
  assert.equal(deploy.update_config.monitor, '10s', 'two health-check intervals')
  assert.match(String(deploy.labels[SPEC_LABEL]), /^[0-9a-f]{16}$/)
  assert.deepEqual(pg.ports, [{ target: 5432, published: 5433, protocol: 'tcp', mode: 'host' }])
  assert.deepEqual(pg.volumes, [
    { type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data' },
    { type: 'bind', source: '/repo/compose/01-data/postgres/app-databases.sh', target: '/docker-entrypoint-initdb.d/10-app-databases.sh', read_only: true },
  ])
  assert.deepEqual(f.doc.networks, { default: { external: true, name: 'ai-network' } })
  assert.deepEqual(f.doc.volumes, { 'postgres-data': { name: 'stackyard-postgres-data' } })
  assert.ok(f.warnings.some((w) => /security_opt is not applied under swarm.*postgres/.test(w)))
  assert.ok(f.warnings.some((w) => /Swarm cannot bind 127\.0\.0\.1/.test(w)))
  assert.ok(!('name' in f.doc), 'no top-level name: the v3.9 stack file has none')
})

test('the spec label changes with the service and with a secret\'s value; a stateless service updates start-first', () => {
  const a = deriveStackFile(dataModel(), opts('data'))
  const b = deriveStackFile(dataModel(), opts('data'))
  const label = (f: typeof a) => (f.doc.services.postgres.deploy as { labels: Record<string, string> }).labels[SPEC_LABEL]
  assert.equal(label(a), label(b), 'deterministic')
  const rotated = deriveStackFile(dataModel(), { ...opts('data'), value: (k: string) => (k === 'N8N_DB_PASSWORD' ? 'rotated' : values[k]) })
  assert.notEqual(label(rotated), label(a))
  const m = dataModel()
  m.services.postgres.volumes = []
  m.services.postgres.ports = []
  assert.equal(((deriveStackFile(m, opts('data')).doc.services.postgres.deploy as Record<string, Record<string, unknown>>).update_config).order, 'start-first')
})

test('a secret the image reads only from its environment stays there, listed; a URL embedding one too; rendering can mask them', () => {
  const model = {
    services: {
      'infisical-backend': { image: 'i', environment: { ENCRYPTION_KEY: 'enc', DB_CONNECTION_URI: 'postgresql://infisical:inf-pg@infisical-db:5432/infisical', PORT: '8080' } },
      'infisical-db': { image: 'p', environment: { POSTGRES_PASSWORD: 'inf-pg', POSTGRES_USER: 'infisical' } },
    },
  }
  const f = deriveStackFile(model, opts('infrastructure'))
  assert.deepEqual(f.envSecrets.map((e) => `${e.service}:${e.variable}:${e.key}`).sort(), ['infisical-backend:DB_CONNECTION_URI:INFISICAL_POSTGRES_PASSWORD', 'infisical-backend:ENCRYPTION_KEY:INFISICAL_ENCRYPTION_KEY'])
  assert.equal((f.doc.services['infisical-db'].environment as Record<string, string>).POSTGRES_PASSWORD_FILE, '/run/secrets/INFISICAL_POSTGRES_PASSWORD')
  const masked = renderStackFile(f, { mask: true })
  assert.ok(!masked.includes('enc\n') && !masked.includes('inf-pg'), masked)
  assert.ok(renderStackFile(f).includes('ENCRYPTION_KEY: enc'), 'the deployed file keeps it (stdin only)')
})

test('secretVariables: whole references and embedded ones; seconds reads Go durations', () => {
  const keys = new Set(['A', 'B'])
  assert.deepEqual(secretVariables({ environment: { X: '${A:?run}', Y: 'u:${B}@h', Z: '${C}' } }, keys), [{ variable: 'X', key: 'A', whole: true }, { variable: 'Y', key: 'B', whole: false }])
  assert.deepEqual(secretVariables({ environment: ['X=${A}', 'W'] }, keys), [{ variable: 'X', key: 'A', whole: true }])
  assert.equal(seconds('1m30s'), 90)
  assert.equal(seconds('500ms'), 0.5)
  assert.equal(seconds('soon'), undefined)
})

/** the checkout's files as checkoutFiles gives them, for a model whose sources lie under /repo */
const checkout: Record<string, { content: string; mode: number }> = {
  'compose/01-data/postgres/app-databases.sh': { content: '#!/bin/sh\necho init\n', mode: 0o555 },
  'caddy/Caddyfile': { content: ':80 {\n  respond ok\n}\n', mode: 0o444 },
  'caddy/addons/README.md': { content: 'add-ons\n', mode: 0o444 },
}
function files(source: string, tree = checkout) {
  if (!source.startsWith('/repo/')) return 'outside' as const
  const rel = source.slice('/repo/'.length)
  return Object.entries(tree)
    .filter(([f]) => f === rel || f.startsWith(`${rel}/`))
    .map(([file, f]) => ({ path: file === rel ? '' : file.slice(rel.length + 1), file, ...f }))
}

test('a read-only bind of a checkout file becomes a Docker config at the same path: content-hashed name, executable kept, external in the file', () => {
  const f = deriveStackFile(dataModel(), { ...opts('data'), files })
  const pg = f.doc.services.postgres
  const name = configName('stackyard-data', 'compose/01-data/postgres/app-databases.sh', '#!/bin/sh\necho init\n')
  assert.match(name, /^stackyard-data_app-databases\.sh_[0-9a-f]{12}$/)
  assert.deepEqual(pg.configs, [{ source: name, target: '/docker-entrypoint-initdb.d/10-app-databases.sh', mode: 0o555 }])
  assert.deepEqual(pg.volumes, [{ type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data' }], 'the bind is gone, the volume stays')
  assert.deepEqual(f.doc.configs, { [name]: { external: true, name } })
  assert.deepEqual(f.configs, [{ name, file: 'compose/01-data/postgres/app-databases.sh', content: '#!/bin/sh\necho init\n', services: ['postgres'] }])
  assert.ok(renderStackFile(f).includes('mode: 365'), 'the mode as a number the stack file reads (0555)')
  assert.ok(!renderStackFile(f).includes('echo init'), 'the content is not in the file: it goes to docker config create on stdin')
  // a changed file: a new config name, a new spec (the service rolls)
  const changed = deriveStackFile(dataModel(), { ...opts('data'), files: (s) => files(s, { ...checkout, 'compose/01-data/postgres/app-databases.sh': { content: '#!/bin/sh\necho changed\n', mode: 0o555 } }) })
  const label = (x: typeof f) => (x.doc.services.postgres.deploy as { labels: Record<string, string> }).labels[SPEC_LABEL]
  assert.notEqual(changed.configs[0].name, name)
  assert.notEqual(label(changed), label(f))
  assert.equal(label(deriveStackFile(dataModel(), { ...opts('data'), files })), label(f), 'deterministic')
})

test('a read-only folder of the checkout: one config per file under its target; binds elsewhere stay, a writable one with a warning', () => {
  const model = {
    services: {
      caddy: {
        image: 'caddy',
        volumes: [
          { type: 'bind', source: '/repo/caddy', target: '/etc/caddy', read_only: true, bind: { create_host_path: true } },
          { type: 'volume', source: 'caddy-data', target: '/data', volume: {} },
        ],
      },
      agent: {
        image: 'agent',
        volumes: [
          { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', read_only: true },
          { type: 'bind', source: '/srv/state', target: '/state' },
          { type: 'bind', source: '/repo/missing', target: '/etc/missing', read_only: true },
        ],
      },
    },
  }
  const f = deriveStackFile(model, { ...opts('infrastructure'), files })
  const caddy = f.doc.services.caddy
  assert.deepEqual((caddy.configs as Array<{ target: string }>).map((c) => c.target), ['/etc/caddy/Caddyfile', '/etc/caddy/addons/README.md'])
  assert.deepEqual(caddy.volumes, [{ type: 'volume', source: 'caddy-data', target: '/data' }])
  assert.deepEqual(f.configs.map((c) => c.file), ['caddy/Caddyfile', 'caddy/addons/README.md'])
  assert.ok(f.configs.every((c) => c.name.startsWith('stackyard-infra_') && c.services.join() === 'caddy'))
  const agent = f.doc.services.agent
  assert.deepEqual((agent.volumes as Array<{ source: string }>).map((v) => v.source), ['/var/run/docker.sock', '/srv/state'], 'binds outside the checkout stay; a missing checkout path is not mounted')
  assert.equal(agent.configs, undefined)
  assert.ok(f.warnings.some((w) => /agent: \/srv\/state is bind-mounted writable at \/state/.test(w)), f.warnings.join('\n'))
  assert.ok(f.warnings.some((w) => /agent: \/repo\/missing is missing or empty/.test(w)), f.warnings.join('\n'))
  assert.ok(!f.warnings.some((w) => w.includes('docker.sock')), 'a read-only host path every node has: no warning')
})

test('configName stays within Docker\'s 64 characters of [a-zA-Z0-9_.-]', () => {
  const n = configName('stackyard-infra', 'caddy/addons/a very long add-on name that goes on and on.caddy', 'x')
  assert.ok(n.length <= 64, n)
  assert.match(n, /^stackyard-infra_[a-zA-Z0-9_.-]+_[0-9a-f]{12}$/)
})

test('checkoutFiles: a file or a folder of the checkout (hidden files left out, executables kept, files not yet written added); outside is outside', () => {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-configs-'))
  try {
    mkdirSync(join(root, 'caddy/addons'), { recursive: true })
    writeFileSync(join(root, 'caddy/addons/a.caddy'), 'a\n')
    writeFileSync(join(root, 'caddy/.Caddyfile.1.tmp'), 'half-written\n')
    writeFileSync(join(root, 'init.sh'), '#!/bin/sh\n', { mode: 0o755 })
    writeFileSync(join(root, 'blob'), Buffer.from([0xff, 0xfe, 0x00]))
    assert.deepEqual(checkoutFiles(root, join(root, 'caddy'), { 'caddy/Caddyfile': ':80\n' }), [
      { path: 'Caddyfile', file: 'caddy/Caddyfile', content: ':80\n', mode: 0o444 },
      { path: 'addons/a.caddy', file: 'caddy/addons/a.caddy', content: 'a\n', mode: 0o444 },
    ])
    assert.deepEqual(checkoutFiles(root, join(root, 'init.sh')), [{ path: '', file: 'init.sh', content: '#!/bin/sh\n', mode: 0o555 }])
    assert.deepEqual(checkoutFiles(root, join(root, 'nothing')), [])
    assert.equal(checkoutFiles(root, '/var/run/docker.sock'), 'outside')
    assert.equal(checkoutFiles(root, root), 'outside', 'the checkout itself is not a file of it')
    assert.equal(checkoutFiles(root, join(root, 'blob')), 'unsupported')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
