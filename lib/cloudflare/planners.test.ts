// The pure Cloudflare planners and readers: ingress ownership and ordering, DNS ownership, Access refusals,
// the zone stance, configuration parsing. No network.
import { test } from 'node:test'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { isOwnedRule, planIngress, stableJson } from './ingress.ts'
import { planDns, DNS_COMMENT } from './dns.ts'
import { appsByHost, appName, opensToEveryone, planAccess, teamNameOf } from './access.ts'
import { evaluateRules, evaluateSettings } from './zone.ts'
import { defaultTunnelName, desiredHosts, proxyUrl, readCloudflareConfig, type Desired, type DesiredHost } from './config.ts'
import { renderPlan } from './diff.ts'
import { CLOUDFLARE_STATE_FILE, loadRemembered, rememberedContent } from './memory.ts'
import { mkdirSync, writeFileSync } from 'node:fs'
import { ConfigError } from '../core/errors.ts'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { readSettings } from '../model/settings.ts'
import type { DnsRecord, IngressRule } from './client.ts'

const host = (sub: string, access: DesiredHost['access'] = 'public'): DesiredHost => ({ host: `${sub}.example.com`, service: sub, stack: 's', access, audEnv: `${sub.toUpperCase()}_ACCESS_AUD` })
const want = (...hosts: DesiredHost[]): Desired => ({ domain: 'example.com', proxyUrl: 'http://caddy:80', hosts })
const cfg = (ingress: IngressRule[], version = 1) => ({ version, config: { ingress } })

test('ownership of ingress rules: proxy service, plain hostname under DOMAIN, no path', () => {
  const own = (r: IngressRule) => isOwnedRule(r, 'http://caddy:80', 'example.com')
  assert.equal(own({ hostname: 'a.example.com', service: 'http://caddy:80' }), true)
  assert.equal(own({ hostname: 'A.Example.com', service: 'http://caddy:80/' }), true)
  assert.equal(own({ hostname: 'a.example.com', service: 'http://caddy:80', path: '^/api' }), false)
  assert.equal(own({ hostname: '*.example.com', service: 'http://caddy:80' }), false)
  assert.equal(own({ hostname: 'a.other.org', service: 'http://caddy:80' }), false)
  assert.equal(own({ hostname: 'a.example.com', service: 'http://gitea:3000' }), false)
  assert.equal(own({ hostname: 'example.com', service: 'http://caddy:80' }), false)
})

test('ingress: catch-all moved last, duplicates of owned rules dropped, owned originRequest extras kept, idempotent', () => {
  const current = cfg([
    { service: 'http_status:404' },
    { hostname: 'a.example.com', service: 'http://caddy:80', originRequest: { connectTimeout: '5s' } },
    { hostname: 'a.example.com', service: 'http://caddy:80' },
  ])
  const p = planIngress(current, want(host('a')), new Map())
  assert.deepEqual(p.config.ingress, [{ hostname: 'a.example.com', service: 'http://caddy:80', originRequest: { connectTimeout: '5s', httpHostHeader: 'a.example.com' } }, { service: 'http_status:404' }])
  assert.deepEqual(p.changes.map((c) => `${c.op} ${c.key}`), ['~ catch-all', '~ a.example.com', '- a.example.com'])
  const again = planIngress({ version: 2, config: p.config }, want(host('a')), new Map())
  assert.equal(again.changed, false)
  assert.ok(again.changes.every((c) => c.op === '='))
})

test('ingress: a protected host carries originRequest.access; an undeclared owned rule is kept unless pruned', () => {
  const access = new Map([['p.example.com', { teamName: 'team', aud: 'a'.repeat(64) }]])
  const current = cfg([{ hostname: 'old.example.com', service: 'http://caddy:80', originRequest: { httpHostHeader: 'old.example.com' } }, { service: 'http_status:404' }])
  const p = planIngress(current, want(host('p', 'protected')), access)
  assert.deepEqual(p.config.ingress?.map((r) => r.hostname), ['old.example.com', 'p.example.com', undefined])
  assert.deepEqual(p.config.ingress?.[1].originRequest, { httpHostHeader: 'p.example.com', access: { required: true, teamName: 'team', audTag: ['a'.repeat(64)] } })
  const pruned = planIngress(current, want(host('p', 'protected')), access, { prune: true })
  assert.deepEqual(pruned.config.ingress?.map((r) => r.hostname), ['p.example.com', undefined])
  // an AUD that changed (app re-created) is updated in place
  const moved = planIngress({ version: 2, config: p.config }, want(host('p', 'protected')), new Map([['p.example.com', { teamName: 'team', aud: 'b'.repeat(64) }]]))
  assert.deepEqual(moved.changes.filter((c) => c.op === '~').map((c) => c.detail), ['originRequest.access updated'])
})

test('DNS: owned records are updated, unmarked correct ones left alone, names compared as FQDNs', () => {
  const target = 'tid.cfargotunnel.com'
  const rec = (over: Partial<DnsRecord>): DnsRecord => ({ id: Math.random().toString(16).slice(2), type: 'CNAME', name: 'x.example.com', content: target, proxied: true, ttl: 1, comment: null, ...over })
  const records = [
    rec({ name: 'A.Example.com.', content: 'TID.cfargotunnel.com' }),
    rec({ name: 'b.example.com', proxied: false, comment: DNS_COMMENT }),
    rec({ name: 'gone.example.com', comment: DNS_COMMENT }),
  ]
  const p = planDns(records, ['a.example.com', 'b.example.com', 'c.example.com'], target, 'example.com')
  assert.deepEqual(p.hosts.map((h) => `${h.host} ${h.state}`), ['a.example.com ok', 'b.example.com unproxied', 'c.example.com missing'])
  assert.deepEqual(p.ops.map((o) => `${o.kind} ${o.host}`), ['update b.example.com', 'create c.example.com'])
  assert.ok(p.changes.some((c) => c.key === 'gone.example.com' && c.op === '=' && /--prune/.test(c.detail)))
  const pruned = planDns(records, ['a.example.com'], target, 'example.com', { prune: true })
  assert.deepEqual(pruned.ops.map((o) => `${o.kind} ${o.host}`).sort(), ['delete b.example.com', 'delete gone.example.com'])
})

test('Access: the allow policy comes from the emails and domain; an everyone include is never built', () => {
  const ids = { emails: ['a@example.com'], emailDomain: 'corp.example' }
  const p = planAccess({ apps: [], policies: [], hosts: [host('p', 'protected'), host('q')], domain: 'example.com', identities: ids, org: { auth_domain: 'team.cloudflareaccess.com' } })
  assert.deepEqual(p.policyOps[0].body.include, [{ email: { email: 'a@example.com' } }, { email_domain: { domain: 'corp.example' } }])
  assert.equal(p.teamName, 'team')
  assert.deepEqual(p.appOps.map((o) => `${o.kind} ${o.host}`), ['create p.example.com'])
  assert.throws(() => planAccess({ apps: [], policies: [], hosts: [host('p', 'protected')], domain: 'example.com', identities: { emails: [] } }), ConfigError)
  // public routes alone need no identities at all
  assert.doesNotThrow(() => planAccess({ apps: [], policies: [], hosts: [host('q')], domain: 'example.com', identities: { emails: [] } }))
  assert.equal(opensToEveryone({ decision: 'allow', include: [{ everyone: {} }] }), true)
  assert.equal(opensToEveryone({ decision: 'allow', include: [{ everyone: {} }], require: [{ email_domain: { domain: 'x' } }] }), false)
  assert.equal(opensToEveryone({ decision: 'bypass', include: [{ email: { email: 'a@b.c' } }] }), true)
  assert.equal(teamNameOf('https://myteam.cloudflareaccess.com'), 'myteam')
})

test('Access: apps are indexed by host (every destination, listed order), and the plan is the same as matching each host with each app', () => {
  const app = (id: string, name: string, ...uris: string[]) => ({ id, name, aud: `aud-${id}`, type: 'self_hosted', domain: uris[0], destinations: uris.map((uri) => ({ type: 'public', uri })), policies: [{ id: 'p1' }] })
  const apps = [app('1', appName('a.example.com'), 'a.example.com'), app('2', 'Hand made', 'https://B.example.com/path', 'a.example.com'), app('3', appName('b.example.com'), 'b.example.com')]
  const index = appsByHost(apps)
  assert.deepEqual([...index].map(([h, at]) => [h, at.map((x) => x.id)]), [['a.example.com', ['1', '2']], ['b.example.com', ['2', '3']]])
  const policies = [{ id: 'p1', name: 'Stackyard allow', decision: 'allow', include: [{ email: { email: 'me@example.com' } }] }]
  const plan = planAccess({ apps, policies, hosts: [host('a', 'protected'), host('b', 'protected'), host('c', 'protected')], domain: 'example.com', identities: { emails: ['me@example.com'] } })
  assert.deepEqual([...plan.auds], [['a.example.com', 'aud-1'], ['b.example.com', 'aud-3']], 'the owned app wins over a foreign one at the same host')
  assert.deepEqual(plan.appOps.map((o) => `${o.kind} ${o.host}`), ['create c.example.com'])
  // many hosts: every one matched to its own app
  const many = Array.from({ length: 4000 }, (_, i) => host(`h${i}`, 'protected'))
  const manyApps = many.slice(0, 3999).map((h, i) => app(String(i), appName(h.host), h.host))
  // (its speed against the quadratic planner is measured in bench/cloudflare.bench.ts, not asserted here)
  const big = planAccess({ apps: manyApps, policies, hosts: many, domain: 'example.com', identities: { emails: ['me@example.com'] } })
  assert.deepEqual(big.appOps.map((o) => o.host), ['h3999.example.com'])
})

test('zone stance: ssl never fixed, off fails, flexible warns; safe fixes only where editable', () => {
  const s = (value: unknown, editable = true) => ({ id: 'x', value, editable })
  const f = evaluateSettings({ ssl: s('flexible'), always_use_https: s('off'), security_level: s('under_attack', false), min_tls_version: s('1.0'), ssl_automatic_mode: s('auto') })
  const by = Object.fromEntries(f.map((x) => [x.id, x]))
  assert.equal(by.ssl.level, 'warn')
  assert.equal(by.ssl.fix, undefined)
  assert.deepEqual(by.always_use_https.fix, { setting: 'always_use_https', value: 'on' })
  assert.equal(by.security_level.level, 'warn')
  assert.equal(by.security_level.fix, undefined, 'not editable: no fix offered')
  assert.deepEqual(by.min_tls_version.fix, { setting: 'min_tls_version', value: '1.2' })
  assert.match(by.ssl_automatic_mode.message, /may change the SSL mode/)
  assert.equal(evaluateSettings({ ssl: s('off') })[0].level, 'fail')
  assert.equal(evaluateSettings({ ssl: s('strict') })[0].level, 'ok')
})

test('zone rules: caching and Content-Type rewrites that touch routed hosts are flagged', () => {
  const hosts = ['infisical.example.com', 'n8n.example.com']
  const f = evaluateRules(
    {
      pageRules: [
        { id: 'p1', status: 'active', targets: [{ target: 'url', constraint: { operator: 'matches', value: '*example.com/*' } }], actions: [{ id: 'cache_level', value: 'cache_everything' }] },
        { id: 'p2', status: 'active', targets: [{ target: 'url', constraint: { operator: 'matches', value: 'infisical.example.com/api/*' } }], actions: [{ id: 'cache_level', value: 'bypass' }] },
      ],
      rulesets: [
        { id: 'r', phase: 'http_request_late_transform', rules: [{ id: 't1', expression: '(http.host eq "infisical.example.com")', action: 'rewrite', action_parameters: { headers: { 'Content-Type': { operation: 'set', value: 'application/json' } } } }] },
        { id: 'c', phase: 'http_request_cache_settings', rules: [{ id: 'c1', expression: '(http.host eq "other.example.com")', action: 'set_cache_settings', action_parameters: { cache: true } }] },
      ],
    },
    hosts,
  )
  assert.deepEqual(f.map((x) => x.id), ['pagerule:p1', 'ruleset:t1'])
  assert.match(f[1].message, /rewrites Content-Type for infisical\.example\.com/)
})

test('config: credentials, IDs and identities are validated and named; the default tunnel name is per domain', () => {
  const get = (vals: Record<string, string>) => (k: string) => vals[k]
  assert.throws(() => readCloudflareConfig(get({}), { domain: 'example.com' }), /no Cloudflare credentials: set CLOUDFLARE_API_TOKEN/)
  assert.throws(() => readCloudflareConfig(get({ CLOUDFLARE_EMAIL: 'a@b.co' }), { domain: 'example.com' }), /CLOUDFLARE_API_KEY is missing/)
  assert.throws(() => readCloudflareConfig(get({ CLOUDFLARE_API_TOKEN: 't' }), {}), /DOMAIN is not set/)
  assert.throws(() => readCloudflareConfig(get({ CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ZONE_ID: 'zone' }), { domain: 'example.com' }), /CLOUDFLARE_ZONE_ID: "zone" is not a Cloudflare zone ID/)
  assert.throws(() => readCloudflareConfig(get({ CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCESS_EMAILS: 'a@b.co, nope' }), { domain: 'example.com' }), /"nope" is not an email/)
  const c = readCloudflareConfig(get({ CLOUDFLARE_EMAIL: 'a@b.co', CLOUDFLARE_API_KEY: 'k', CLOUDFLARE_ACCESS_EMAILS: 'A@b.co,c@d.io a@b.co' }), { domain: 'example.com' })
  assert.deepEqual(c.auth, { email: 'a@b.co', key: 'k' })
  assert.deepEqual(c.access.emails, ['a@b.co', 'c@d.io'])
  assert.equal(c.tunnelName, defaultTunnelName('example.com'))
  assert.equal(c.baseUrl, 'https://api.cloudflare.com/client/v4')
})

test('desired hosts come from the registry (the shipped infrastructure stack): the proxy URL from x-proxy, routes of running services only', () => {
  const root = mkdtempSync(join(tmpdir(), 'cf-registry-'))
  cpSync(join(repoRoot, 'compose', '00-infrastructure'), join(root, 'compose', '00-infrastructure'), { recursive: true })
  const r = loadRegistry(root)
  rmSync(root, { recursive: true, force: true })
  assert.equal(proxyUrl(r), `http://${r.proxy!.name}:80`)
  const off = desiredHosts(r, readSettings({ STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com' }), {})
  assert.equal(off.hosts.some((h) => h.service === 'infisical-backend'), false, 'the infisical profile is off')
  const on = desiredHosts(r, readSettings({ STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com', STACKYARD_PROFILES: 'infisical' }), {})
  assert.deepEqual(on.hosts.find((h) => h.service === 'infisical-backend'), { host: 'infisical.example.com', service: 'infisical-backend', stack: 'infrastructure', access: 'public', audEnv: 'INFISICAL_ACCESS_AUD' })
})

test('remembered IDs: read back for the same URL, domain and tunnel name only; a corrupt file or a malformed value is forgotten', () => {
  const root = mkdtempSync(join(tmpdir(), 'cf-memory-'))
  try {
    const key = { baseUrl: 'https://api.cloudflare.com/client/v4', domain: 'example.com', tunnelName: 'stackyard-example.com' }
    const ids = { accountId: '0123456789abcdef0123456789abcdef', zoneId: 'fedcba9876543210fedcba9876543210', zoneName: 'example.com', tunnelId: '7c8e1a7e-1111-4222-8333-944444444444', authDomain: 'team.cloudflareaccess.com' }
    assert.deepEqual(loadRemembered(root, key), {}, 'no file: nothing remembered')
    mkdirSync(join(root, '.stackyard'))
    writeFileSync(join(root, CLOUDFLARE_STATE_FILE), rememberedContent(key, { ...ids, tunnelId: 'not-a-uuid' }))
    const { tunnelId: _malformed, ...rest } = ids
    assert.deepEqual(loadRemembered(root, key), rest, 'the malformed tunnel ID is not remembered')
    writeFileSync(join(root, CLOUDFLARE_STATE_FILE), rememberedContent(key, ids))
    assert.deepEqual(loadRemembered(root, key), ids)
    assert.deepEqual(loadRemembered(root, { ...key, domain: 'other.org' }), {})
    assert.deepEqual(loadRemembered(root, { ...key, baseUrl: 'http://127.0.0.1:9/client/v4' }), {})
    writeFileSync(join(root, CLOUDFLARE_STATE_FILE), '{ not json')
    assert.deepEqual(loadRemembered(root, key), {})
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('the plan renders as a diff with a summary line', () => {
  const text = renderPlan(
    [
      { area: 'dns', op: '+', key: 'a.example.com', detail: 'CNAME' },
      { area: 'dns', op: '=', key: 'b.example.com', detail: 'ok' },
      { area: 'ingress', op: '-', key: 'c.example.com', detail: 'gone' },
    ],
    [{ area: 'dns', key: 'd.example.com', message: 'conflict' }],
  )
  assert.equal(
    text,
    ['Tunnel ingress', '  - c.example.com: gone', 'DNS', '  + a.example.com: CNAME', '  = b.example.com: ok', '  ! d.example.com: conflict', '1 to add, 0 to change, 1 to remove, 1 unchanged, 1 problem'].join('\n'),
  )
  assert.equal(stableJson({ b: 1, a: { d: 2, c: 3 } }), stableJson({ a: { c: 3, d: 2 }, b: 1 }))
})
