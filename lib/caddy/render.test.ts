import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { greaterThanPattern, renderCaddyfile, sizeBytes } from './render.ts'
import type { Route } from '../model/registry.ts'

const route = (over: Partial<Route> = {}): Route => ({
  subdomain: 'infisical',
  port: 8080,
  local_port: 8020,
  access: 'public',
  body_limit: '10MB',
  timeout: '60s',
  service: 'infisical-backend',
  stack: 'infrastructure',
  urlEnv: 'INFISICAL_SITE_URL',
  ...over,
})

test('greaterThanPattern matches exactly the integers above n (leading zeros allowed)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5e9 }), fc.integer({ min: 0, max: 5e9 }), fc.nat(3), (n, x, zeros) => {
      const re = new RegExp(greaterThanPattern(n))
      assert.equal(re.test('0'.repeat(zeros) + String(x)), x > n, `n=${n} x=${x}`)
    }),
    { numRuns: 2000 },
  )
  assert.ok(!/[{}]/.test(greaterThanPattern(10_000_000)), 'no braces: Caddyfile placeholders use them')
})

test('sizeBytes reads sizes as Caddy does (decimal units)', () => {
  assert.equal(sizeBytes('10MB'), 10_000_000)
  assert.equal(sizeBytes('1KB'), 1000)
  assert.equal(sizeBytes('512B'), 512)
  assert.equal(sizeBytes('2GB'), 2_000_000_000)
  assert.throws(() => sizeBytes('10 MiB'))
})

test('public: one <sub>.{$DOMAIN} site per route on :80 with HSTS and trusted proxies; no domain hard-coded', () => {
  const text = renderCaddyfile({ environment: 'public', routes: [route(), route({ subdomain: 'n8n', service: 'n8n', port: 5678, local_port: 8001, body_limit: '100MB', timeout: '300s' })] })
  assert.match(text, /^http:\/\/infisical\.\{\$DOMAIN\}:80 \{$/m)
  assert.match(text, /^http:\/\/n8n\.\{\$DOMAIN\}:80 \{$/m)
  assert.match(text, /reverse_proxy n8n:5678 \{/)
  assert.match(text, /max_size 100MB/)
  assert.match(text, /read_timeout 300s/)
  assert.equal((text.match(/Strict-Transport-Security/g) ?? []).length, 2)
  assert.equal((text.match(/trusted_proxies 173\.245\.48\.0\/20 .* private_ranges$/gm) ?? []).length, 2)
  assert.doesNotMatch(text, /servers \{/, 'the global trusted_proxies option needs Caddy 2.6.3+')
  assert.doesNotMatch(text, /(header_up|request_header)\s+[+]?Content-Type/i, 'never force a Content-Type onto requests')
  assert.doesNotMatch(text, /X-Forwarded-Proto/i, 'never hard-code the forwarded scheme')
  assert.doesNotMatch(text, /:8020|:8001/, 'no local ports in public')
  assert.match(text, /^:80 \{\n\timport security_headers\n\thandle \/health \{\n\t\trespond "OK" 200/m)
  assert.match(text, /respond "No service is configured for this address" 404/)
  assert.match(text, /^import addons\/\*\.caddy$/m)
})

test('private: one :<local_port> site per route, no HSTS, no trusted proxies; routes sorted (stable output)', () => {
  const a = route()
  const b = route({ subdomain: 'n8n', service: 'n8n', port: 5678, local_port: 8001 })
  const text = renderCaddyfile({ environment: 'private', routes: [a, b] })
  assert.match(text, /^:8020 \{$/m)
  assert.match(text, /^:8001 \{$/m)
  assert.doesNotMatch(text, /Strict-Transport-Security|trusted_proxies|\{\$DOMAIN\}/)
  assert.ok(text.indexOf(':8020 {') < text.indexOf(':8001 {'), 'sorted by subdomain: infisical before n8n')
  assert.equal(text, renderCaddyfile({ environment: 'private', routes: [b, a] }))
})

test('parameters: upstream, ports, bind and admin are injected, not switched by a test flag', () => {
  const text = renderCaddyfile({
    environment: 'private',
    routes: [route()],
    upstream: () => '127.0.0.1:9999',
    localPort: () => 18020,
    httpPort: 18080,
    bind: '127.0.0.1',
    admin: 'off',
    addons: false,
  })
  assert.match(text, /^:18020 \{\n\tbind 127\.0\.0\.1$/m)
  assert.match(text, /reverse_proxy 127\.0\.0\.1:9999 \{/)
  assert.match(text, /^:18080 \{$/m)
  assert.match(text, /^\tadmin off$/m)
  assert.doesNotMatch(text, /import addons/)
})
