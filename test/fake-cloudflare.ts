// Test helper: a stateful loopback fake of the Cloudflare API v4 pieces Stackyard uses (accounts, zones,
// tunnels and their versioned configurations, DNS records with paging, Access apps/policies/organizations,
// the DNS batch endpoint, zone settings, page rules, rulesets, cache purge). It answers in Cloudflare's envelope, rejects bodies
// the real API rejects (ingress without a final catch-all, duplicate DNS records with 81053/81057),
// scopes tokens to permissions, and takes injected faults (429 with retry-after, 5xx, timeouts) through
// the http-server `inject`. Never used by product code.
import { randomBytes, randomUUID } from 'node:crypto'
import assert from 'node:assert/strict'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { startFakeServer, type FakeServer, type RecordedRequest, type Reply, type Route } from './helpers/http-server.ts'

export type Perm =
  | 'zone:read'
  | 'account:read'
  | 'tunnel:read'
  | 'tunnel:edit'
  | 'dns:read'
  | 'dns:edit'
  | 'access:read'
  | 'access:edit'
  | 'org:read'
  | 'settings:read'
  | 'settings:edit'
  | 'purge'
  | 'rules:read'

export const ALL_PERMS: Perm[] = ['zone:read', 'account:read', 'tunnel:read', 'tunnel:edit', 'dns:read', 'dns:edit', 'access:read', 'access:edit', 'org:read', 'settings:read', 'settings:edit', 'purge', 'rules:read']

type Obj = Record<string, unknown>
export interface FakeTunnel {
  id: string
  account: string
  name: string
  config_src: 'cloudflare' | 'local'
  status: string
  created_at: string
  deleted_at: string | null
  connections: Obj[]
  token: string
  version: number
  config: Obj | null
}
export interface FakeRecord {
  id: string
  zone: string
  type: string
  name: string
  content: string
  proxied: boolean
  ttl: number
  comment: string | null
  tags: string[]
}
export interface FakeApp extends Obj {
  id: string
  account: string
  aud: string
  name: string
  domain: string
  policies: Array<{ id: string; precedence: number }>
}
export interface FakePolicy extends Obj {
  id: string
  account: string
  name: string
  decision: string
  include: Obj[]
}

export interface FakeState {
  tokens: Map<string, { perms: Set<Perm>; status: string }>
  globalKeys: Map<string, string>
  accounts: Array<{ id: string; name: string }>
  zones: Array<{ id: string; name: string; account: string; status: string }>
  tunnels: FakeTunnel[]
  records: FakeRecord[]
  orgs: Map<string, { auth_domain: string; name: string }>
  apps: FakeApp[]
  policies: FakePolicy[]
  settings: Map<string, Map<string, { value: unknown; editable: boolean }>>
  pageRules: Map<string, Obj[]>
  rulesets: Map<string, Map<string, Obj>>
  purges: string[]
}

export interface FakeCloudflare {
  /** base URL ending in /client/v4 (what CLOUDFLARE_API_BASE_URL takes) */
  url: string
  server: FakeServer
  state: FakeState
  /** a token with these permissions (default all) */
  token(perms?: Perm[], status?: string): string
  account(name?: string): string
  zone(name: string, account: string): string
  tunnel(account: string, name: string, opts?: Partial<Pick<FakeTunnel, 'config_src' | 'status' | 'connections' | 'config' | 'version'>>): FakeTunnel
  record(zone: string, r: Partial<FakeRecord> & Pick<FakeRecord, 'type' | 'name' | 'content'>): FakeRecord
  org(account: string, authDomain: string): void
  app(account: string, a: Partial<FakeApp> & { name: string; domain: string }): FakeApp
  policy(account: string, p: Partial<FakePolicy> & { name: string; decision: string; include: Obj[] }): FakePolicy
  setting(zone: string, name: string, value: unknown, editable?: boolean): void
  /** every request except GETs, optionally since index `from` */
  writes(from?: number): RecordedRequest[]
  /** answer the next `times` requests matching with 429 and retry-after */
  rateLimit(match: (r: RecordedRequest) => boolean, retryAfterSeconds: number, times?: number): void
  /** answer the next `times` requests matching with this status and a Cloudflare error */
  fail(match: (r: RecordedRequest) => boolean, status: number, times?: number): void
  close(): Promise<void>
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const ok = (result: unknown, result_info?: Obj): Reply => ({ status: 200, body: { success: true, errors: [], messages: [], result, ...(result_info ? { result_info } : {}) } })
const err = (status: number, code: number, message: string): Reply => ({ status, body: { success: false, errors: [{ code, message }], messages: [], result: null } })
const now = () => new Date().toISOString()

function paged<T>(items: T[], q: URLSearchParams, maxPerPage: number): Reply {
  const perPage = Math.min(Number(q.get('per_page') ?? 20) || 20, maxPerPage)
  const page = Math.max(1, Number(q.get('page') ?? 1) || 1)
  const slice = items.slice((page - 1) * perPage, page * perPage)
  return ok(slice, { page, per_page: perPage, count: slice.length, total_count: items.length, total_pages: Math.max(1, Math.ceil(items.length / perPage)) })
}

const SCHEMES = /^(https?|unix|tcp|ssh|rdp|unix\+tls|smb):\/\/|^http_status:\d{3}$|^hello_world$|^bastion$/
const SETTING_VALUES: Record<string, unknown[]> = {
  ssl: ['off', 'flexible', 'full', 'strict'],
  ssl_automatic_mode: ['auto', 'custom'],
  always_use_https: ['on', 'off'],
  min_tls_version: ['1.0', '1.1', '1.2', '1.3'],
  security_level: ['off', 'essentially_off', 'low', 'medium', 'high', 'under_attack'],
}

/** cloudflared's ingress validation (ingress/ingress.go), as the API applies it to a PUT. */
function validateIngress(config: unknown): string | undefined {
  const ingress = (config as Obj | null)?.ingress
  if (!Array.isArray(ingress) || ingress.length === 0) return 'The ingress must have at least one rule'
  for (const [i, r] of ingress.entries()) {
    const rule = r as Obj
    if (typeof rule.service !== 'string' || !SCHEMES.test(rule.service)) return `Rule #${i + 1}: invalid service ${String(rule.service)}`
    if (/^https?:\/\/[^/]+\/./.test(rule.service)) return `Rule #${i + 1}: a service URL cannot have a path`
    const h = rule.hostname
    if (h !== undefined && (typeof h !== 'string' || (h.includes('*') && !(h === '*' || (h.startsWith('*.') && !h.slice(1).includes('*'))))))
      return `Rule #${i + 1}: hostname wildcards are only allowed as the leading label`
  }
  const last = ingress[ingress.length - 1] as Obj
  if ((last.hostname && last.hostname !== '*') || last.path) return 'The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)'
  return undefined
}

export async function startFakeCloudflare(opts: { maxPerPage?: number } = {}): Promise<FakeCloudflare> {
  const maxPerPage = opts.maxPerPage ?? 50
  const state: FakeState = {
    tokens: new Map(),
    globalKeys: new Map(),
    accounts: [],
    zones: [],
    tunnels: [],
    records: [],
    orgs: new Map(),
    apps: [],
    policies: [],
    settings: new Map(),
    pageRules: new Map(),
    rulesets: new Map(),
    purges: [],
  }

  /** the caller's permissions, or a reply refusing it */
  function auth(req: RecordedRequest): Set<Perm> | Reply {
    const bearer = String(req.headers.authorization ?? '')
    if (bearer) {
      const m = /^Bearer (\S+)$/.exec(bearer)
      if (!m) return err(400, 6003, 'Invalid request headers')
      const t = state.tokens.get(m[1])
      if (!t || t.status !== 'active') return err(403, 10000, 'Authentication error')
      return t.perms
    }
    const email = String(req.headers['x-auth-email'] ?? '')
    const key = String(req.headers['x-auth-key'] ?? '')
    if (email || key) {
      if (state.globalKeys.get(email) !== key) return err(403, 9103, 'Unknown X-Auth-Key or X-Auth-Email')
      return new Set(ALL_PERMS)
    }
    return err(400, 9106, 'Missing X-Auth-Email header')
  }

  const routes: Route[] = []
  const at = (method: string, path: string, perm: Perm | null, handler: (req: RecordedRequest, p: Record<string, string>, perms: Set<Perm>) => Reply) =>
    routes.push({
      method,
      path: `/client/v4${path}`,
      handler: (req, p) => {
        const perms = auth(req)
        if (!(perms instanceof Set)) return perms
        if (perm && !perms.has(perm) && !(perm === 'zone:read' && path === '/zones')) return err(403, 10000, 'Authentication error')
        return handler(req, p, perms)
      },
    })
  const account = (id: string) => state.accounts.find((a) => a.id === id)
  const zoneOf = (id: string) => state.zones.find((z) => z.id === id)
  const tunnelOf = (a: string, t: string) => state.tunnels.find((x) => x.account === a && x.id === t)
  const noRoute = (path: string) => err(400, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`)
  const tunnelView = (t: FakeTunnel) => ({ id: t.id, account_tag: t.account, name: t.name, status: t.status, config_src: t.config_src, remote_config: t.config_src === 'cloudflare', connections: t.connections, created_at: t.created_at, deleted_at: t.deleted_at, tun_type: 'cfd_tunnel' })
  const zoneView = (z: FakeState['zones'][number]) => ({ id: z.id, name: z.name, status: z.status, account: { id: z.account, name: account(z.account)?.name } })
  const policyView = (p: FakePolicy) => {
    const { account: _a, ...rest } = p
    return { exclude: [], require: [], reusable: true, ...rest }
  }
  const appView = (a: FakeApp) => {
    const { account: _a, ...rest } = a
    return { ...rest, policies: a.policies.map((ref) => ({ ...policyView(state.policies.find((p) => p.id === ref.id) ?? ({ id: ref.id, name: '?', decision: 'allow', include: [] } as unknown as FakePolicy)), precedence: ref.precedence })) }
  }

  // tokens
  const verify = (req: RecordedRequest): Reply => {
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))
    const t = m && state.tokens.get(m[1])
    if (!t) return err(401, 1000, 'Invalid API Token')
    return ok({ id: hex(16), status: t.status })
  }
  routes.push({ method: 'GET', path: '/client/v4/user/tokens/verify', handler: verify })
  routes.push({ method: 'GET', path: '/client/v4/accounts/:a/tokens/verify', handler: verify })

  // zones and accounts
  at('GET', '/zones', 'zone:read', (req, _p, perms) => {
    const name = req.query.get('name')
    const zones = perms.has('zone:read') ? state.zones.filter((z) => !name || z.name === name) : []
    return paged(zones.map(zoneView), req.query, Math.min(maxPerPage, 50))
  })
  at('GET', '/zones/:z', 'zone:read', (req, p) => {
    const z = zoneOf(p.z)
    return z ? ok(zoneView(z)) : noRoute(req.path)
  })
  at('GET', '/accounts', 'account:read', (req) => paged(state.accounts, req.query, maxPerPage))

  // tunnels
  at('GET', '/accounts/:a/cfd_tunnel', 'tunnel:read', (req, p) => {
    if (!account(p.a)) return noRoute(req.path)
    const name = req.query.get('name')
    const deleted = req.query.get('is_deleted')
    const list = state.tunnels.filter((t) => t.account === p.a && (!name || t.name === name) && (deleted !== 'false' || !t.deleted_at))
    return paged(list.map(tunnelView), req.query, maxPerPage)
  })
  at('POST', '/accounts/:a/cfd_tunnel', 'tunnel:edit', (req, p) => {
    if (!account(p.a)) return noRoute(req.path)
    const body = (req.body ?? {}) as Obj
    if (typeof body.name !== 'string' || !body.name) return err(400, 1001, 'name is required')
    if (state.tunnels.some((t) => t.account === p.a && t.name === body.name && !t.deleted_at)) return err(409, 1013, 'You already have a tunnel with this name')
    const t = api.tunnel(p.a, body.name, { config_src: body.config_src === 'cloudflare' ? 'cloudflare' : 'local' })
    return ok(tunnelView(t))
  })
  at('GET', '/accounts/:a/cfd_tunnel/:t', 'tunnel:read', (req, p) => {
    const t = tunnelOf(p.a, p.t)
    return t ? ok(tunnelView(t)) : err(404, 1003, 'Tunnel not found')
  })
  at('GET', '/accounts/:a/cfd_tunnel/:t/token', 'tunnel:read', (req, p) => {
    const t = tunnelOf(p.a, p.t)
    return t ? ok(t.token) : err(404, 1003, 'Tunnel not found')
  })
  at('GET', '/accounts/:a/cfd_tunnel/:t/connections', 'tunnel:read', (req, p) => {
    const t = tunnelOf(p.a, p.t)
    return t ? ok(t.connections.length ? [{ id: hex(8), conns: t.connections }] : []) : err(404, 1003, 'Tunnel not found')
  })
  at('GET', '/accounts/:a/cfd_tunnel/:t/configurations', 'tunnel:read', (req, p) => {
    const t = tunnelOf(p.a, p.t)
    if (!t) return err(404, 1003, 'Tunnel not found')
    return ok({ tunnel_id: t.id, version: t.version, config: t.config, source: t.config_src, created_at: t.created_at })
  })
  at('PUT', '/accounts/:a/cfd_tunnel/:t/configurations', 'tunnel:edit', (req, p) => {
    const t = tunnelOf(p.a, p.t)
    if (!t) return err(404, 1003, 'Tunnel not found')
    if (t.config_src === 'local') return err(400, 1055, 'Tunnel is locally configured; its configuration cannot be managed remotely')
    const config = (req.body as Obj | undefined)?.config
    const problem = validateIngress(config)
    if (problem) return err(400, 1056, `Bad Configuration: ${problem}`)
    t.config = structuredClone(config as Obj)
    t.version++
    return ok({ tunnel_id: t.id, version: t.version, config: t.config, source: 'cloudflare', created_at: now() })
  })

  // DNS
  const fqdnIn = (zone: string, name: string) => {
    const n = name.toLowerCase().replace(/\.$/, '')
    if (n === '@') return zone
    return n === zone || n.endsWith(`.${zone}`) ? n : `${n}.${zone}`
  }
  const recordView = (r: FakeRecord) => {
    const { zone, ...rest } = r
    return { ...rest, zone_id: zone, zone_name: zoneOf(zone)?.name, proxiable: ['A', 'AAAA', 'CNAME'].includes(r.type), created_on: now(), modified_on: now() }
  }
  /** the real API's checks of a record body; `self` is the record being replaced */
  function checkRecord(zone: string, body: Obj, self?: FakeRecord, records: FakeRecord[] = state.records): Reply | FakeRecord {
    const z = zoneOf(zone)!
    if (typeof body.type !== 'string' || typeof body.name !== 'string' || typeof body.content !== 'string') return err(400, 9000, 'DNS name, type and content are required')
    const ttl = body.ttl === undefined ? 1 : Number(body.ttl)
    if (ttl !== 1 && (ttl < 30 || ttl > 86400)) return err(400, 9021, 'Invalid TTL. Must be between 30 and 86,400 seconds, or 1 for Automatic')
    if (body.proxied && !['A', 'AAAA', 'CNAME'].includes(body.type)) return err(400, 9004, 'This record type cannot be proxied')
    const name = fqdnIn(z.name, body.name)
    const others = records.filter((r) => r.zone === zone && r.name === name && r !== self)
    if (others.some((r) => r.type === body.type && r.content.toLowerCase() === String(body.content).toLowerCase())) return err(400, 81057, 'Record already exists.')
    const address = (t: string) => t === 'A' || t === 'AAAA'
    if (body.type === 'CNAME' && others.some((r) => address(r.type) || r.type === 'CNAME')) return err(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.')
    if (address(body.type) && others.some((r) => r.type === 'CNAME')) return err(400, 81054, 'A CNAME record with that host already exists.')
    return {
      id: self?.id ?? hex(16),
      zone,
      type: body.type,
      name,
      content: String(body.content),
      proxied: Boolean(body.proxied),
      ttl,
      comment: typeof body.comment === 'string' ? body.comment : null,
      tags: Array.isArray(body.tags) ? body.tags.map(String) : [],
    }
  }
  at('GET', '/zones/:z/dns_records', 'dns:read', (req, p) => {
    if (!zoneOf(p.z)) return noRoute(req.path)
    const q = req.query
    const name = q.get('name.exact') ?? q.get('name')
    const list = state.records.filter((r) => r.zone === p.z && (!q.get('type') || r.type === q.get('type')) && (!name || r.name === name.toLowerCase()) && (!q.get('content') || r.content === q.get('content')))
    return paged(list.map(recordView), q, maxPerPage)
  })
  at('POST', '/zones/:z/dns_records', 'dns:edit', (req, p) => {
    if (!zoneOf(p.z)) return noRoute(req.path)
    const r = checkRecord(p.z, (req.body ?? {}) as Obj)
    if (!('id' in r)) return r
    state.records.push(r)
    return ok(recordView(r))
  })
  const replaceRecord = (req: RecordedRequest, p: Record<string, string>, partial: boolean): Reply => {
    const i = state.records.findIndex((r) => r.zone === p.z && r.id === p.id)
    if (i === -1) return err(404, 81044, 'Record does not exist.')
    const body = partial ? { ...recordView(state.records[i]), ...(req.body as Obj) } : ((req.body ?? {}) as Obj)
    const r = checkRecord(p.z, body, state.records[i])
    if (!('id' in r)) return r
    state.records[i] = r
    return ok(recordView(r))
  }
  at('PUT', '/zones/:z/dns_records/:id', 'dns:edit', (req, p) => replaceRecord(req, p, false))
  at('PATCH', '/zones/:z/dns_records/:id', 'dns:edit', (req, p) => replaceRecord(req, p, true))
  // POST /zones/{z}/dns_records/batch: deletes, then patches, then puts, then posts, each checked as its single
  // endpoint checks it against the records as the earlier operations left them, in one transaction: the first
  // failure answers 400 with that operation's error and nothing is applied. The result lists what each group did.
  at('POST', '/zones/:z/dns_records/batch', 'dns:edit', (req, p) => {
    if (!zoneOf(p.z)) return noRoute(req.path)
    const body = (req.body ?? {}) as Obj
    const group = (k: string): Obj[] | undefined => (body[k] === undefined ? [] : Array.isArray(body[k]) && (body[k] as unknown[]).every((x) => x && typeof x === 'object') ? (body[k] as Obj[]) : undefined)
    const groups = { deletes: group('deletes'), patches: group('patches'), puts: group('puts'), posts: group('posts') }
    for (const [k, v] of Object.entries(groups)) if (!v) return err(400, 9207, `Request body is invalid: ${k} must be an array of objects`)
    const g = groups as Record<keyof typeof groups, Obj[]>
    const work = [...state.records]
    const result = { deletes: [] as Obj[], patches: [] as Obj[], puts: [] as Obj[], posts: [] as Obj[] }
    for (const d of g.deletes) {
      const i = work.findIndex((r) => r.zone === p.z && r.id === d.id)
      if (i === -1) return err(400, 81044, 'Record does not exist.')
      result.deletes.push(recordView(work[i]))
      work.splice(i, 1)
    }
    for (const [kind, partial] of [['patches', true], ['puts', false]] as const)
      for (const u of g[kind]) {
        const i = work.findIndex((r) => r.zone === p.z && r.id === u.id)
        if (i === -1) return err(400, 81044, 'Record does not exist.')
        const { id: _id, ...fields } = u
        const r = checkRecord(p.z, partial ? { ...recordView(work[i]), ...fields } : fields, work[i], work)
        if (!('id' in r)) return r
        work[i] = r
        result[kind].push(recordView(r))
      }
    for (const b of g.posts) {
      const r = checkRecord(p.z, b, undefined, work)
      if (!('id' in r)) return r
      work.push(r)
      result.posts.push(recordView(r))
    }
    state.records.splice(0, state.records.length, ...work)
    return ok(result)
  })
  at('DELETE', '/zones/:z/dns_records/:id', 'dns:edit', (req, p) => {
    const i = state.records.findIndex((r) => r.zone === p.z && r.id === p.id)
    if (i === -1) return err(404, 81044, 'Record does not exist.')
    state.records.splice(i, 1)
    return ok({ id: p.id })
  })

  // Access
  at('GET', '/accounts/:a/access/organizations', 'org:read', (req, p) => {
    if (!account(p.a)) return noRoute(req.path)
    const o = state.orgs.get(p.a)
    return o ? ok(o) : err(404, 12106, 'access.api.error.not_found: organization not found')
  })
  const checkApp = (a: string, body: Obj, self?: FakeApp): Reply | Omit<FakeApp, 'id' | 'aud' | 'account'> => {
    if (body.type !== 'self_hosted' || typeof body.domain !== 'string' || !body.domain) return err(400, 12130, 'access.api.error.invalid_request: type self_hosted needs a domain')
    if (typeof body.name !== 'string' || !body.name) return err(400, 12130, 'access.api.error.invalid_request: name is required')
    if (state.apps.some((x) => x.account === a && x !== self && x.domain === body.domain)) return err(400, 12130, 'access.api.error.conflict: an application with this domain already exists')
    const refs = (Array.isArray(body.policies) ? body.policies : []).map((x, i) => (typeof x === 'string' ? { id: x, precedence: i + 1 } : { id: String((x as Obj).id), precedence: Number((x as Obj).precedence ?? i + 1) }))
    for (const ref of refs) if (!state.policies.some((p) => p.account === a && p.id === ref.id)) return err(400, 12130, `access.api.error.invalid_request: policy ${ref.id} does not exist`)
    const { id: _i, aud: _aud, policies: _p, created_at: _c, updated_at: _u, ...rest } = body
    return { ...rest, name: body.name, domain: body.domain, policies: refs } as Omit<FakeApp, 'id' | 'aud' | 'account'>
  }
  at('GET', '/accounts/:a/access/apps', 'access:read', (req, p) => (!account(p.a) ? noRoute(req.path) : paged(state.apps.filter((x) => x.account === p.a).map(appView), req.query, maxPerPage)))
  at('POST', '/accounts/:a/access/apps', 'access:edit', (req, p) => {
    const r = checkApp(p.a, (req.body ?? {}) as Obj)
    if ('status' in r && 'body' in r) return r as Reply
    const app = { ...(r as Obj), id: randomUUID(), aud: hex(32), account: p.a, created_at: now() } as unknown as FakeApp
    state.apps.push(app)
    return ok(appView(app))
  })
  at('PUT', '/accounts/:a/access/apps/:id', 'access:edit', (req, p) => {
    const i = state.apps.findIndex((x) => x.account === p.a && x.id === p.id)
    if (i === -1) return err(404, 12106, 'access.api.error.not_found: application not found')
    const r = checkApp(p.a, (req.body ?? {}) as Obj, state.apps[i])
    if ('status' in r && 'body' in r) return r as Reply
    state.apps[i] = { ...(r as Obj), id: state.apps[i].id, aud: state.apps[i].aud, account: p.a, created_at: state.apps[i].created_at, updated_at: now() } as unknown as FakeApp
    return ok(appView(state.apps[i]))
  })
  at('DELETE', '/accounts/:a/access/apps/:id', 'access:edit', (req, p) => {
    const i = state.apps.findIndex((x) => x.account === p.a && x.id === p.id)
    if (i === -1) return err(404, 12106, 'access.api.error.not_found: application not found')
    state.apps.splice(i, 1)
    return ok({ id: p.id })
  })
  const checkPolicy = (body: Obj): Reply | undefined => {
    if (typeof body.name !== 'string' || !body.name) return err(400, 12130, 'access.api.error.invalid_request: name is required')
    if (!['allow', 'deny', 'non_identity', 'bypass'].includes(String(body.decision))) return err(400, 12130, 'access.api.error.invalid_request: invalid decision')
    if (!Array.isArray(body.include) || body.include.length === 0) return err(400, 12130, 'access.api.error.invalid_request: include must not be empty')
    return undefined
  }
  at('GET', '/accounts/:a/access/policies', 'access:read', (req, p) => (!account(p.a) ? noRoute(req.path) : paged(state.policies.filter((x) => x.account === p.a).map(policyView), req.query, maxPerPage)))
  at('POST', '/accounts/:a/access/policies', 'access:edit', (req, p) => {
    const body = (req.body ?? {}) as Obj
    const bad = checkPolicy(body)
    if (bad) return bad
    const pol = { ...body, id: randomUUID(), account: p.a } as FakePolicy
    state.policies.push(pol)
    return ok(policyView(pol))
  })
  at('PUT', '/accounts/:a/access/policies/:id', 'access:edit', (req, p) => {
    const i = state.policies.findIndex((x) => x.account === p.a && x.id === p.id)
    if (i === -1) return err(404, 12106, 'access.api.error.not_found: policy not found')
    const body = (req.body ?? {}) as Obj
    const bad = checkPolicy(body)
    if (bad) return bad
    state.policies[i] = { ...body, id: p.id, account: p.a } as FakePolicy
    return ok(policyView(state.policies[i]))
  })

  // zone settings, rules, purge
  at('GET', '/zones/:z/settings/:name', 'settings:read', (req, p) => {
    const s = state.settings.get(p.z)?.get(p.name)
    if (!zoneOf(p.z)) return noRoute(req.path)
    if (!s) return err(400, 1003, `Invalid or missing zone setting: ${p.name}`)
    return ok({ id: p.name, value: s.value, editable: s.editable, modified_on: null })
  })
  at('PATCH', '/zones/:z/settings/:name', 'settings:edit', (req, p) => {
    const s = state.settings.get(p.z)?.get(p.name)
    if (!s) return err(400, 1003, `Invalid or missing zone setting: ${p.name}`)
    if (!s.editable) return err(400, 1007, `${p.name} is not editable on this zone`)
    const value = (req.body as Obj | undefined)?.value
    if (SETTING_VALUES[p.name] && !SETTING_VALUES[p.name].includes(value)) return err(400, 1007, `Invalid value for zone setting ${p.name}`)
    s.value = value
    return ok({ id: p.name, value, editable: true, modified_on: now() })
  })
  at('GET', '/zones/:z/pagerules', 'rules:read', (req, p) => ok(state.pageRules.get(p.z) ?? []))
  at('GET', '/zones/:z/rulesets/phases/:phase/entrypoint', 'rules:read', (req, p) => {
    const rs = state.rulesets.get(p.z)?.get(p.phase)
    return rs ? ok(rs) : err(404, 10003, `could not find entrypoint ruleset in the ${p.phase} phase`)
  })
  at('POST', '/zones/:z/purge_cache', 'purge', (req, p) => {
    const body = (req.body ?? {}) as Obj
    if (Object.keys(body).length !== 1) return err(400, 1012, 'Request must contain exactly one purge parameter')
    state.purges.push(p.z)
    return ok({ id: p.z })
  })

  const server = await startFakeServer(routes)
  const api: FakeCloudflare = {
    url: `${server.url}/client/v4`,
    server,
    state,
    token(perms = ALL_PERMS, status = 'active') {
      const t = hex(20)
      state.tokens.set(t, { perms: new Set(perms), status })
      return t
    },
    account(name = 'Test account') {
      const id = hex(16)
      state.accounts.push({ id, name })
      return id
    },
    zone(name, acct) {
      const id = hex(16)
      state.zones.push({ id, name, account: acct, status: 'active' })
      const settings = new Map<string, { value: unknown; editable: boolean }>([
        ['ssl', { value: 'full', editable: true }],
        ['ssl_automatic_mode', { value: 'custom', editable: true }],
        ['always_use_https', { value: 'on', editable: true }],
        ['min_tls_version', { value: '1.2', editable: true }],
        ['security_level', { value: 'medium', editable: true }],
      ])
      state.settings.set(id, settings)
      return id
    },
    tunnel(acct, name, o = {}) {
      const t: FakeTunnel = {
        id: randomUUID(),
        account: acct,
        name,
        config_src: o.config_src ?? 'cloudflare',
        status: o.status ?? 'inactive',
        created_at: now(),
        deleted_at: null,
        connections: o.connections ?? [],
        token: `eyJ${hex(48)}`,
        version: o.version ?? 0,
        config: o.config ?? null,
      }
      state.tunnels.push(t)
      return t
    },
    record(zone, r) {
      const z = zoneOf(zone)!
      const rec: FakeRecord = { id: hex(16), zone, proxied: false, ttl: 1, comment: null, tags: [], ...r, name: fqdnIn(z.name, r.name) }
      state.records.push(rec)
      return rec
    },
    org(acct, authDomain) {
      state.orgs.set(acct, { auth_domain: authDomain, name: authDomain.split('.')[0] })
    },
    app(acct, a) {
      const app: FakeApp = { type: 'self_hosted', destinations: [{ type: 'public', uri: a.domain }], session_duration: '24h', policies: [], ...a, id: randomUUID(), aud: hex(32), account: acct }
      state.apps.push(app)
      return app
    },
    policy(acct, p) {
      const pol: FakePolicy = { ...p, id: randomUUID(), account: acct }
      state.policies.push(pol)
      return pol
    },
    setting(zone, name, value, editable = true) {
      state.settings.get(zone)!.set(name, { value, editable })
    },
    writes: (from = 0) => server.requests.slice(from).filter((r) => r.method !== 'GET'),
    rateLimit(match, retryAfterSeconds, times = 1) {
      server.inject(match, { ...err(429, 971, 'Please wait and consider throttling your request speed'), headers: { 'retry-after': String(retryAfterSeconds) } }, times)
    },
    fail(match, status, times = 1) {
      server.inject(match, err(status, status >= 500 ? 1000 + status : 1000, `injected failure (${status})`), times)
    },
    close: () => server.close(),
  }
  return api
}

/**
 * An installation that is already set up (a temporary repo with its secrets generated) beside a fake whose
 * Cloudflare side exists: example.com, the myteam Access org and a remotely managed tunnel.
 */
export async function exampleInstallation(): Promise<{ fake: FakeCloudflare; repo: TempRepo; close(): Promise<void> }> {
  const fake = await startFakeCloudflare()
  const account = fake.account()
  fake.zone('example.com', account)
  fake.org(account, 'myteam.cloudflareaccess.com')
  fake.tunnel(account, 'stackyard-example.com', { config_src: 'cloudflare' })
  const repo = tempRepo()
  const generated = await repo.run('secrets.ts', ['generate'])
  assert.equal(generated.code, 0, generated.stderr)
  const close = async () => {
    repo.cleanup()
    await fake.close()
  }
  return { fake, repo, close }
}
