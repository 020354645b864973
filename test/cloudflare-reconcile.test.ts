// Reconciliation (lib/cloudflare/reconcile.ts over the planners) against the stateful fake: plan correctness,
// zero writes on a second run, preservation of foreign rules and records, concurrent edits, partial
// failure completed by a re-run, ownership rules (--force, --prune, --remove), refusals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSession } from '../lib/cloudflare/session.ts'
import { applyReconcile, FRESH_MS, planReconcile, type Scope } from '../lib/cloudflare/reconcile.ts'
import type { CloudflareConfig, Desired, DesiredHost } from '../lib/cloudflare/config.ts'
import { ConfigError, FailureError } from '../lib/core/errors.ts'
import { DNS_COMMENT } from '../lib/cloudflare/dns.ts'
import { startFakeCloudflare, type FakeCloudflare } from './fake-cloudflare.ts'

const ALL: Scope = { access: true, ingress: true, dns: true }
const host = (sub: string, access: DesiredHost['access'] = 'protected'): DesiredHost => ({ host: `${sub}.example.com`, service: sub, stack: 'apps', access, audEnv: `${sub.toUpperCase()}_ACCESS_AUD` })
const desired = (...hosts: DesiredHost[]): Desired => ({ domain: 'example.com', proxyUrl: 'http://caddy:80', hosts })

async function world() {
  const fake = await startFakeCloudflare()
  const account = fake.account()
  const zone = fake.zone('example.com', account)
  const tunnel = fake.tunnel(account, 'stackyard-example.com')
  fake.org(account, 'myteam.cloudflareaccess.com')
  const config: CloudflareConfig = { auth: { token: fake.token() }, baseUrl: fake.url, domain: 'example.com', tunnelName: 'stackyard-example.com', access: { emails: ['me@example.com'], emailDomain: 'example.org' } }
  const session = () => openSession({ config, transportOptions: { sleep: async () => {} } })
  return { fake, account, zone, tunnel, config, session }
}

async function reconcile(w: Awaited<ReturnType<typeof world>>, d: Desired, scope: Scope = ALL, opts = {}) {
  const s = w.session()
  const plan = await planReconcile(s, d, scope, w.config.access, opts)
  const from = w.fake.server.requests.length
  const result = plan.writes ? await applyReconcile(s, plan) : undefined
  return { plan, result, writes: w.fake.writes(from) }
}

test('a first run creates policy, apps, ingress and DNS in the safe order; the second run writes nothing', async () => {
  const w = await world()
  try {
    const d = desired(host('n8n'), host('webui'), host('infisical', 'public'))
    const first = await reconcile(w, d)
    assert.deepEqual(first.plan.changes.filter((c) => c.op !== '=').map((c) => `${c.area} ${c.op} ${c.key}`), [
      'access + policy "Stackyard allow"',
      'access + n8n.example.com',
      'access + webui.example.com',
      'ingress + catch-all',
      'ingress + n8n.example.com',
      'ingress + webui.example.com',
      'ingress + infisical.example.com',
      'dns + n8n.example.com',
      'dns + webui.example.com',
      'dns + infisical.example.com',
    ])
    const kinds = first.writes.map((r) => `${r.method} ${r.path.replace(/^.*\/(access\/\w+|configurations|dns_records\/batch)$/, '$1')}`)
    assert.deepEqual(kinds, ['POST access/policies', 'POST access/apps', 'POST access/apps', 'PUT configurations', 'POST dns_records/batch'])
    assert.deepEqual((first.writes.at(-1)!.body as { posts: Array<{ name: string }> }).posts.map((p) => p.name), ['n8n.example.com', 'webui.example.com', 'infisical.example.com'], 'the three records in one batch')

    const cfg = w.tunnel.config as { ingress: Array<Record<string, any>> }
    const n8nApp = w.fake.state.apps.find((a) => a.domain === 'n8n.example.com')!
    assert.deepEqual(cfg.ingress[0], {
      hostname: 'n8n.example.com',
      service: 'http://caddy:80',
      originRequest: { httpHostHeader: 'n8n.example.com', access: { required: true, teamName: 'myteam', audTag: [n8nApp.aud] } },
    })
    assert.deepEqual(cfg.ingress[2], { hostname: 'infisical.example.com', service: 'http://caddy:80', originRequest: { httpHostHeader: 'infisical.example.com' } })
    assert.deepEqual(cfg.ingress.at(-1), { service: 'http_status:404' })
    assert.equal(w.fake.state.apps.some((a) => a.domain === 'infisical.example.com'), false, 'public routes get no Access app')
    const policy = w.fake.state.policies[0]
    assert.deepEqual([policy.decision, policy.include], ['allow', [{ email: { email: 'me@example.com' } }, { email_domain: { domain: 'example.org' } }]])
    assert.deepEqual(n8nApp.policies, [{ id: policy.id, precedence: 1 }])
    for (const r of w.fake.state.records) assert.deepEqual([r.type, r.content, r.proxied, r.ttl, r.comment], ['CNAME', `${w.tunnel.id}.cfargotunnel.com`, true, 1, DNS_COMMENT])
    assert.deepEqual(first.result?.auds.get('n8n.example.com'), n8nApp.aud)

    const second = await reconcile(w, d)
    assert.equal(second.plan.writes, false)
    assert.deepEqual(second.writes, [])
    assert.ok(second.plan.changes.every((c) => c.op === '='))
  } finally {
    await w.fake.close()
  }
})

test('rules, records and apps Stackyard does not own are kept exactly as read', async () => {
  const w = await world()
  try {
    const foreignRules = [
      { hostname: 'git.example.com', service: 'http://gitea:3000', originRequest: { noTLSVerify: true, connectTimeout: '10s' } },
      { hostname: 'n8n.example.com', path: '^/webhook/', service: 'http://hooks:80' },
      { hostname: '*.example.com', service: 'https://legacy:443', originRequest: { originServerName: 'legacy' } },
      { hostname: 'app.other.org', service: 'http://caddy:80', originRequest: { httpHostHeader: 'app.other.org' } },
    ]
    w.tunnel.config = { originRequest: { connectTimeout: '30s' }, 'warp-routing': { enabled: true }, ingress: [...structuredClone(foreignRules), { service: 'http_status:503' }] }
    w.tunnel.version = 4
    const mx = w.fake.record(w.zone, { type: 'MX', name: 'example.com', content: 'mail.example.com' })
    const gitDns = w.fake.record(w.zone, { type: 'CNAME', name: 'git', content: `${w.tunnel.id}.cfargotunnel.com`, proxied: true, comment: 'made by hand' })
    const foreignApp = w.fake.app(w.account, { name: 'Legacy', domain: 'legacy.example.com' })

    await reconcile(w, desired(host('n8n'), host('webui', 'public')))
    const cfg = w.tunnel.config as { ingress: Array<Record<string, unknown>>; originRequest: unknown; 'warp-routing': unknown }
    assert.deepEqual(cfg.originRequest, { connectTimeout: '30s' })
    assert.deepEqual(cfg['warp-routing'], { enabled: true })
    for (const r of foreignRules) assert.ok(cfg.ingress.some((x) => JSON.stringify(x) === JSON.stringify(r)), `kept ${r.hostname}`)
    assert.deepEqual(cfg.ingress.at(-1), { service: 'http_status:503' }, 'their catch-all stays, last')
    const names = cfg.ingress.map((r) => r.hostname ?? '(catch-all)')
    assert.ok(names.indexOf('n8n.example.com') < names.indexOf('*.example.com'), 'new rules go before a wildcard that would shadow them')
    assert.ok(names.indexOf('webui.example.com') < names.indexOf('*.example.com'))
    assert.deepEqual(w.fake.state.records.find((r) => r.id === mx.id), mx)
    assert.deepEqual(w.fake.state.records.find((r) => r.id === gitDns.id), gitDns)
    assert.deepEqual(w.fake.state.apps.find((a) => a.id === foreignApp.id), foreignApp)

    // --prune removes only owned things
    const pruned = await reconcile(w, desired(host('webui', 'public')), ALL, { prune: true })
    assert.deepEqual(pruned.plan.changes.filter((c) => c.op === '-').map((c) => `${c.area} ${c.key}`).sort(), ['access n8n.example.com', 'dns n8n.example.com', 'ingress n8n.example.com'])
    for (const r of foreignRules) assert.ok((w.tunnel.config as typeof cfg).ingress.some((x) => JSON.stringify(x) === JSON.stringify(r)))
    assert.ok(w.fake.state.apps.some((a) => a.id === foreignApp.id))
    assert.ok(w.fake.state.records.some((r) => r.id === gitDns.id))
    assert.deepEqual((await reconcile(w, desired(host('webui', 'public')), ALL, { prune: true })).writes, [])
  } finally {
    await w.fake.close()
  }
})

test('conflicts are reported, not overwritten: an A record, a foreign CNAME, a foreign rule for a declared host', async () => {
  const w = await world()
  try {
    const a = w.fake.record(w.zone, { type: 'A', name: 'n8n', content: '203.0.113.7', proxied: true })
    const cname = w.fake.record(w.zone, { type: 'CNAME', name: 'webui', content: 'elsewhere.example.net', proxied: false })
    w.tunnel.config = { ingress: [{ hostname: 'flow.example.com', service: 'http://flowise:3000' }, { service: 'http_status:404' }] }
    const d = desired(host('n8n', 'public'), host('webui', 'public'), host('flow', 'public'))
    const r = await reconcile(w, d)
    assert.deepEqual(r.plan.problems.map((p) => `${p.area} ${p.key}`).sort(), ['dns n8n.example.com', 'dns webui.example.com', 'ingress flow.example.com'])
    assert.match(r.plan.problems.find((p) => p.key === 'n8n.example.com')!.message, /A 203\.0\.113\.7 exists at this name \(not deleted/)
    assert.deepEqual(w.fake.state.records.find((x) => x.id === a.id), a)
    assert.deepEqual(w.fake.state.records.find((x) => x.id === cname.id), cname)
    assert.deepEqual((w.tunnel.config as { ingress: unknown[] }).ingress[0], { hostname: 'flow.example.com', service: 'http://flowise:3000' })

    const forced = await reconcile(w, d, ALL, { force: true })
    assert.deepEqual(forced.plan.problems.map((p) => p.key), ['n8n.example.com'], '--force never deletes an A record')
    const updated = w.fake.state.records.find((x) => x.id === cname.id)!
    assert.deepEqual([updated.content, updated.proxied, updated.comment], [`${w.tunnel.id}.cfargotunnel.com`, true, DNS_COMMENT])
    assert.equal((w.tunnel.config as { ingress: Array<{ service: string }> }).ingress[0].service, 'http://caddy:80')
  } finally {
    await w.fake.close()
  }
})

test('a concurrent edit of the tunnel configuration aborts the write', async () => {
  const w = await world()
  try {
    const s = w.session()
    const plan = await planReconcile(s, desired(host('n8n', 'public')), { ingress: true }, w.config.access)
    // the plan was read longer ago than FRESH_MS (the user sat at the confirmation), so it is read again before the PUT
    plan.tunnelConfigReadAt = Date.now() - FRESH_MS
    // someone edits in the dashboard between our read and our write
    w.tunnel.config = { ingress: [{ hostname: 'x.example.com', service: 'http://x:1' }, { service: 'http_status:404' }] }
    w.tunnel.version++
    const from = w.fake.server.requests.length
    await assert.rejects(applyReconcile(s, plan), (e: Error) => e instanceof FailureError && /changed while Stackyard was planning \(version 0 → 1\)/.test(e.message))
    assert.deepEqual(w.fake.writes(from), [])
    const again = await reconcile(w, desired(host('n8n', 'public')), { ingress: true })
    assert.deepEqual((w.tunnel.config as { ingress: Array<{ hostname?: string }> }).ingress.map((r) => r.hostname), ['x.example.com', 'n8n.example.com', undefined])
    assert.equal(again.writes.length, 1)
  } finally {
    await w.fake.close()
  }
})

test('a failed write leaves a state that a re-run completes, without duplicates', async () => {
  const w = await world()
  try {
    const d = desired(host('a'), host('b'), host('c', 'public'), host('d', 'public'))
    // the DNS batch fails: all of it (the batch is atomic), reported as one failure naming every change
    w.fake.fail((r) => r.method === 'POST' && r.path.endsWith('/dns_records/batch'), 500)
    const first = await reconcile(w, d)
    assert.equal(first.result?.failures.length, 1)
    assert.match(first.result!.failures[0], /create a\.example\.com, create b\.example\.com, create c\.example\.com, create d\.example\.com \(one batch, maybe not applied; a re-run reads the zone again\): .*500/)
    assert.equal(w.fake.state.records.length, 0)
    assert.ok(w.fake.state.apps.length === 2 && (w.tunnel.config as { ingress: unknown[] }).ingress.length === 5, 'what succeeded before stays')

    // and a failure in the middle of the Access step
    w.fake.state.apps.splice(0, 1)
    w.fake.fail((r) => r.method === 'POST' && r.path.endsWith('/access/apps'), 503)
    await assert.rejects(reconcile(w, d), /503/)

    const rerun = await reconcile(w, d)
    assert.equal(rerun.result?.failures.length ?? 0, 0)
    assert.deepEqual(w.fake.state.records.map((r) => r.name).sort(), ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'])
    assert.deepEqual(w.fake.state.apps.map((a) => a.domain).sort(), ['a.example.com', 'b.example.com'])
    assert.equal(w.fake.state.policies.length, 1)
    const ingress = (w.tunnel.config as { ingress: Array<Record<string, any>> }).ingress
    const aApp = w.fake.state.apps.find((x) => x.domain === 'a.example.com')!
    assert.deepEqual(ingress.find((r) => r.hostname === 'a.example.com')!.originRequest.access.audTag, [aApp.aud], 'the ingress carries the new app\'s AUD')
    assert.deepEqual((await reconcile(w, d)).writes, [])
  } finally {
    await w.fake.close()
  }
})

test('routes alone: a protected host without an Access app is not routed; --remove drops an owned rule', async () => {
  const w = await world()
  try {
    const r = await reconcile(w, desired(host('n8n'), host('pub', 'public')), { ingress: true })
    assert.deepEqual(r.plan.problems.map((p) => p.key), ['n8n.example.com'])
    assert.deepEqual((w.tunnel.config as { ingress: Array<{ hostname?: string }> }).ingress.map((x) => x.hostname), ['pub.example.com', undefined])
    const removed = await reconcile(w, desired(), { ingress: true }, { remove: ['pub.example.com'] })
    assert.equal(removed.writes.length, 1)
    assert.deepEqual((w.tunnel.config as { ingress: unknown[] }).ingress, [{ service: 'http_status:404' }])
  } finally {
    await w.fake.close()
  }
})

test('Access: no one to let in is refused; bypass is explicit; a foreign app that opens a protected host is flagged', async () => {
  const w = await world()
  try {
    const s = w.session()
    await assert.rejects(planReconcile(s, desired(host('n8n')), { access: true }, { emails: [] }), (e: Error) => e instanceof ConfigError && /CLOUDFLARE_ACCESS_EMAILS/.test(e.message))
    const open = w.fake.policy(w.account, { name: 'Everyone', decision: 'bypass', include: [{ everyone: {} }] })
    w.fake.app(w.account, { name: 'Hand made', domain: 'n8n.example.com', policies: [{ id: open.id, precedence: 1 }] })
    const r = await reconcile(w, desired(host('n8n'), host('hook', 'bypass')), { access: true })
    assert.match(r.plan.problems[0].message, /declared protected, but its Access app "Hand made" has a policy that lets everyone in/)
    assert.ok(r.plan.warnings.some((x) => /hook\.example\.com is declared access: bypass/.test(x)))
    const hookApp = w.fake.state.apps.find((a) => a.domain === 'hook.example.com')!
    const bypass = w.fake.state.policies.find((p) => p.id === hookApp.policies[0].id)!
    assert.equal(bypass.decision, 'bypass')
    assert.equal(w.fake.state.apps.filter((a) => a.policies.some((p) => p.id === bypass.id)).length, 1, 'the bypass policy is on the bypass route only')
  } finally {
    await w.fake.close()
  }
})

test('a locally-managed tunnel is refused', async () => {
  const w = await world()
  try {
    w.tunnel.config_src = 'local'
    await assert.rejects(planReconcile(w.session(), desired(), { ingress: true }, w.config.access), (e: Error) => e instanceof FailureError && /locally managed/.test(e.message))
  } finally {
    await w.fake.close()
  }
})
