import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRegistry } from './registry.ts'
import { ConfigError } from '../core/errors.ts'
import { repoRoot } from '../core/paths.ts'

function fixture(stacks: Record<string, Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'registry-'))
  for (const [folder, files] of Object.entries(stacks)) {
    mkdirSync(join(root, 'compose', folder), { recursive: true })
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'compose', folder, name), text)
  }
  return root
}

const stack = (name: string, body = '', meta = '') => `name: ${name}
x-stackyard:
  description: test stack ${name}
${meta}
services:
  web:
    image: nginx:1.27
${body}
`

test('the shipped registry loads: stacks, routes, secrets and variables', () => {
  const r = loadRegistry(repoRoot)
  const infra = r.stack('infrastructure')
  assert.equal(infra.project, 'stackyard-infra')
  assert.equal(r.stack('00-infrastructure'), infra)
  assert.equal(r.proxy?.name, 'caddy')
  const spec = r.secrets.get('INFISICAL_ENCRYPTION_KEY')?.spec
  assert.deepEqual(spec && { format: spec.format, bytes: (spec as { bytes: number }).bytes }, { format: 'hex', bytes: 16 })
  assert.equal(r.secrets.get('INFISICAL_AUTH_SECRET')?.spec.format, 'base64')
  assert.equal(r.secrets.get('INFISICAL_POSTGRES_PASSWORD')?.spec.format, 'password')
  const infisical = r.routes.find((x) => x.service === 'infisical-backend')
  assert.equal(infisical?.urlEnv, 'INFISICAL_SITE_URL')
  assert.ok(r.variables.some((v) => v.name === 'INFISICAL_ENCRYPTION_KEY' && v.required))
  assert.ok(r.variables.some((v) => v.name === 'DOMAIN' && v.hasDefault))
})

test('stacks are ordered by folder number and selected with their dependencies first', () => {
  const root = fixture({
    '10-apps': { 'docker-compose.yml': stack('p-apps', '', '  after: [data]') },
    '00-infra': { 'docker-compose.yml': stack('p-infra').replace(/web:/, 'proxy:') },
    '05-data': { 'docker-compose.yml': stack('p-data').replace(/web:/, 'db:') },
  })
  try {
    const r = loadRegistry(root)
    assert.deepEqual(r.stacks.map((s) => s.name), ['infra', 'data', 'apps'])
    assert.deepEqual(r.select(['apps']).map((s) => s.name), ['data', 'apps'])
    assert.deepEqual(r.select(['all']).map((s) => s.name), ['infra', 'data', 'apps'])
    assert.throws(() => r.stack('nope'), /unknown stack "nope"/)
  } finally {
    rmSync(root, { recursive: true })
  }
})

test('invalid metadata is a ConfigError naming file, line and field', () => {
  const cases: Array<[Record<string, Record<string, string>>, RegExp]> = [
    [{ '00-a': { 'docker-compose.yml': stack('a', `    x-route:\n      subdomain: Bad_Name\n      port: 80\n      local_port: 8001\n`) } }, /compose\/00-a\/docker-compose\.yml:\d+: services\.web\.x-route\.subdomain: must be a lower-case DNS label/],
    [{ '00-a': { 'docker-compose.yml': stack('a', `    x-route:\n      subdomain: ok\n      port: 80\n      local_port: 8001\n      acess: public\n`) } }, /Unrecognized key.*acess/],
    [{ '00-a': { 'docker-compose.yml': stack('a', `    x-rout: {}\n`) } }, /services\.web\.x-rout: unknown Stackyard field/],
    [{ '00-a': { 'docker-compose.yml': stack('a') + 'x-secrets:\n  K:\n    format: hex\n    bytes: 4\n    description: d\n' } }, /x-secrets\.K\.bytes/],
    [{ '00-a': { 'docker-compose.yml': stack('a', '', '  after: [ghost]') } }, /unknown stack "ghost"/],
    [{ '00-a': { 'docker-compose.yml': stack('a', '', '  after: [b]') }, '01-b': { 'docker-compose.yml': stack('b', '', '  after: [a]').replace(/web:/, 'web2:') } }, /cycle/],
    [{ '00-a': { 'docker-compose.yml': stack('a') }, '01-b': { 'docker-compose.yml': stack('a') } }, /project name "a" is already used/],
    [{ 'apps': { 'docker-compose.yml': stack('a') } }, /named NN-name/],
    [{ '00-a': { 'docker-compose.yml': 'name: a\nservices: [\n' } }, /invalid YAML/],
    [{ '00-a': { 'docker-compose.yml': stack('a'), 'docker-compose.override.public.yml': 'services:\n  web:\n    x-route: {}\n' } }, /belongs in docker-compose\.yml only/],
  ]
  for (const [files, pattern] of cases) {
    const root = fixture(files)
    try {
      assert.throws(() => loadRegistry(root), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e))
        assert.equal(e.exitCode, 2)
        assert.match(e.message, pattern)
        return true
      })
    } finally {
      rmSync(root, { recursive: true })
    }
  }
})

test('a duplicate secret declaration or service name across stacks is refused', () => {
  const sec = 'x-secrets:\n  K:\n    format: uuid\n    description: d\n'
  const root = fixture({ '00-a': { 'docker-compose.yml': stack('a') + sec }, '01-b': { 'docker-compose.yml': stack('b').replace(/web:/, 'web2:') + sec } })
  const root2 = fixture({ '00-a': { 'docker-compose.yml': stack('a') }, '01-b': { 'docker-compose.yml': stack('b') } })
  try {
    assert.throws(() => loadRegistry(root), /x-secrets\.K is already declared in compose\/00-a/)
    assert.throws(() => loadRegistry(root2), /service "web" is also defined/)
  } finally {
    rmSync(root, { recursive: true })
    rmSync(root2, { recursive: true })
  }
})

test('two routes on one local_port are refused on load with both file:line; hardware variants of one service may share one', () => {
  const route = (sub: string, port: number) => `    x-route: { subdomain: ${sub}, port: 80, local_port: ${port} }`
  const root = fixture({ '01-a': { 'docker-compose.yml': stack('a', route('a', 8100)) }, '02-b': { 'docker-compose.yml': stack('b', route('b', 8101)).replace('  web:', '  api:') + `  web2:\n    image: nginx:1.27\n${route('c', 8100)}\n` } })
  try {
    assert.throws(
      () => loadRegistry(root),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.file === 'compose/02-b/docker-compose.yml' &&
        e.line === 11 &&
        e.message === 'compose/02-b/docker-compose.yml:11: services.web2.x-route.local_port: 8100 is already claimed by services.web.x-route.local_port (compose/01-a/docker-compose.yml:8)',
    )
    assert.equal(loadRegistry(root, { allowPortClashes: true }).routes.length, 3, 'doctor loads it to report the clash')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  const variants = `services:
  w-cpu:
    image: nginx:1.27
    profiles: [cpu]
${route('w', 8100).replace(/^ {4}/, '    ')}
  w-gpu:
    image: nginx:1.27
    profiles: [gpu-nvidia]
${route('w', 8100)}
`
  const ok = fixture({ '01-a': { 'docker-compose.yml': `name: a\nx-stackyard:\n  description: variants\n${variants}` } })
  try {
    assert.equal(loadRegistry(ok).routes.length, 2)
  } finally {
    rmSync(ok, { recursive: true, force: true })
  }
})

test('x-secrets check: a live check names a service of its own stack and a known method', () => {
  const ok = fixture({ '01-a': { 'docker-compose.yml': stack('a', '', 'x-secrets:\n  A_DB_PASSWORD:\n    format: password\n    description: the a role\n    check: { method: pg-login, service: web, role: a }') } })
  try {
    assert.deepEqual(loadRegistry(ok).secrets.get('A_DB_PASSWORD')?.spec.check, { method: 'pg-login', service: 'web', role: 'a' })
  } finally {
    rmSync(ok, { recursive: true, force: true })
  }
  for (const [check, why] of [
    ['{ method: pg-login, service: db, role: a }', /x-secrets\.A_DB_PASSWORD\.check\.service: "db" is not a service of this stack/],
    ['{ method: http, service: web, role: a }', /check/],
  ] as const) {
    const root = fixture({ '01-a': { 'docker-compose.yml': stack('a', '', `x-secrets:\n  A_DB_PASSWORD:\n    format: password\n    description: the a role\n    check: ${check}`) } })
    try {
      assert.throws(() => loadRegistry(root), (err: unknown) => err instanceof ConfigError && why.test(err.message))
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
})
