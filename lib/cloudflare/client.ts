// Cloudflare API v4 client: base URL, auth, the envelope unwrapped once, paging, zod at the edge, error
// rendering and permission diagnosis; one function per endpoint. No task logic, no env reads.
// Transport (retries, 429 + retry-after, dry-run hook for writes) is lib/http.ts.
import { z } from 'zod'
import { StackyardError } from '../core/errors.ts'
import { createTransport, HttpError, type Method, type Transport, type TransportOptions } from '../core/http.ts'

export const DEFAULT_API_BASE = 'https://api.cloudflare.com/client/v4'

export type CloudflareAuth = { token: string } | { email: string; key: string }

export interface CloudflareOptions {
  auth: CloudflareAuth
  baseUrl?: string
  /** a ready transport (tests, benchmarks); otherwise one is made from `transport` options */
  transport?: Transport
  transportOptions?: TransportOptions
}

// ---------------------------------------------------------------- errors

export interface CfMessage {
  code: number
  message: string
}

/** The API refused a request: `message [code: N]` lines with method, path and status. Exit 1. */
export class CloudflareApiError extends StackyardError {
  method: string
  path: string
  status: number
  errors: CfMessage[]
  /** the first error code, 0 when there was none */
  code: number
  constructor(method: string, path: string, status: number, errors: CfMessage[], details: { hint?: string; message?: string } = {}) {
    const lines = errors.length ? errors.map((e) => `${e.message} [code: ${e.code}]`) : [`HTTP ${status}`]
    super(details.message ?? `Cloudflare ${method} ${path} → ${status}: ${lines.join('; ')}`, { hint: details.hint })
    this.method = method
    this.path = path
    this.status = status
    this.errors = errors
    this.code = errors[0]?.code ?? 0
  }
  has(...codes: number[]): boolean {
    return this.errors.some((e) => codes.includes(e.code))
  }
}

/** The permission a token needs per resource (names as the dashboard's token editor shows them). */
const PERMISSIONS: Array<{ path: RegExp; read: string; edit: string }> = [
  { path: /^\/accounts\/[^/]+\/cfd_tunnel/, read: 'Account · Cloudflare Tunnel · Read', edit: 'Account · Cloudflare Tunnel · Edit' },
  { path: /^\/accounts\/[^/]+\/access\/organizations/, read: 'Account · Access: Organizations, Identity Providers, and Groups · Read', edit: 'Account · Access: Organizations, Identity Providers, and Groups · Edit' },
  { path: /^\/accounts\/[^/]+\/access\//, read: 'Account · Access: Apps and Policies · Read', edit: 'Account · Access: Apps and Policies · Edit' },
  { path: /^\/zones\/[^/]+\/dns_records/, read: 'Zone · DNS · Read', edit: 'Zone · DNS · Edit' },
  { path: /^\/zones\/[^/]+\/settings/, read: 'Zone · Zone Settings · Read', edit: 'Zone · Zone Settings · Edit' },
  { path: /^\/zones\/[^/]+\/purge_cache/, read: 'Zone · Cache Purge · Purge', edit: 'Zone · Cache Purge · Purge' },
  { path: /^\/zones\/[^/]+\/pagerules/, read: 'Zone · Page Rules · Read', edit: 'Zone · Page Rules · Edit' },
  { path: /^\/zones\/[^/]+\/rulesets/, read: 'Zone · Cache Rules · Read and Zone · Transform Rules · Read', edit: 'Zone · Cache Rules · Edit' },
  { path: /^\/zones(\/[^/]+)?$/, read: 'Zone · Zone · Read', edit: 'Zone · Zone · Edit' },
  { path: /^\/accounts$/, read: 'Account · Account Settings · Read', edit: 'Account · Account Settings · Read' },
]

/** The token permission a request needs, e.g. "Zone · DNS · Edit" for POST /zones/…/dns_records. */
export function permissionFor(method: string, path: string): string | undefined {
  const p = PERMISSIONS.find((x) => x.path.test(path))
  return p && (method === 'GET' ? p.read : p.edit)
}

// ---------------------------------------------------------------- schemas (the edge)

const Message = z.looseObject({ code: z.number(), message: z.string() })
const ResultInfo = z.looseObject({
  page: z.number().optional(),
  per_page: z.number().optional(),
  count: z.number().optional(),
  total_count: z.number().optional(),
  total_pages: z.number().optional(),
  cursor: z.string().optional(),
  cursors: z.looseObject({ after: z.string().optional() }).optional(),
})
const Envelope = z.looseObject({
  success: z.boolean(),
  errors: z.array(Message).default([]),
  messages: z.array(z.unknown()).default([]),
  result: z.unknown(),
  result_info: ResultInfo.nullish(),
})

export const Zone = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  account: z.looseObject({ id: z.string(), name: z.string().optional() }),
})
export type Zone = z.infer<typeof Zone>

export const Account = z.looseObject({ id: z.string(), name: z.string().optional() })

export const TunnelConnection = z.looseObject({
  id: z.string().optional(),
  colo_name: z.string().optional(),
  is_pending_reconnect: z.boolean().optional(),
  opened_at: z.string().optional(),
  origin_ip: z.string().optional(),
  client_version: z.string().optional(),
})
export const Tunnel = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  config_src: z.string().optional(),
  remote_config: z.boolean().optional(),
  connections: z.array(TunnelConnection).nullish(),
  created_at: z.string().optional(),
  deleted_at: z.string().nullish(),
})
export type Tunnel = z.infer<typeof Tunnel>

export const IngressRule = z.looseObject({
  hostname: z.string().optional(),
  path: z.string().optional(),
  service: z.string(),
  originRequest: z.record(z.string(), z.unknown()).optional(),
})
export type IngressRule = z.infer<typeof IngressRule>

export const TunnelConfig = z.looseObject({
  ingress: z.array(IngressRule).nullish(),
  originRequest: z.record(z.string(), z.unknown()).nullish(),
})
export type TunnelConfig = z.infer<typeof TunnelConfig>

export const TunnelConfiguration = z.looseObject({
  tunnel_id: z.string().optional(),
  version: z.number(),
  source: z.string().optional(),
  config: TunnelConfig.nullish(),
  created_at: z.string().optional(),
})
export type TunnelConfiguration = z.infer<typeof TunnelConfiguration>

export const DnsRecord = z.looseObject({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  content: z.string(),
  proxied: z.boolean().optional(),
  ttl: z.number().optional(),
  comment: z.string().nullish(),
  tags: z.array(z.string()).optional(),
})
export type DnsRecord = z.infer<typeof DnsRecord>
/** One POST /zones/{z}/dns_records/batch: Cloudflare runs deletes, patches, puts, posts in that order, in one
 * transaction (all or nothing). */
export interface DnsBatch {
  deletes?: Array<{ id: string }>
  patches?: Array<{ id: string } & Partial<DnsRecordInput>>
  puts?: Array<{ id: string } & DnsRecordInput>
  posts?: DnsRecordInput[]
}
export const DnsBatchResult = z.looseObject({
  deletes: z.array(DnsRecord).nullish(),
  patches: z.array(DnsRecord).nullish(),
  puts: z.array(DnsRecord).nullish(),
  posts: z.array(DnsRecord).nullish(),
})
export type DnsBatchResult = z.infer<typeof DnsBatchResult>
export interface DnsRecordInput {
  type: string
  name: string
  content: string
  proxied?: boolean
  ttl?: number
  comment?: string
  tags?: string[]
}

export const AccessOrganization = z.looseObject({ auth_domain: z.string(), name: z.string().optional() })
export type AccessOrganization = z.infer<typeof AccessOrganization>

const Rule = z.record(z.string(), z.unknown())
export const AccessPolicy = z.looseObject({
  id: z.string(),
  name: z.string(),
  decision: z.string(),
  include: z.array(Rule).default([]),
  exclude: z.array(Rule).nullish(),
  require: z.array(Rule).nullish(),
  precedence: z.number().optional(),
  session_duration: z.string().optional(),
})
export type AccessPolicy = z.infer<typeof AccessPolicy>

export const AccessApp = z.looseObject({
  id: z.string(),
  aud: z.string().optional(),
  name: z.string(),
  domain: z.string().optional(),
  type: z.string().optional(),
  destinations: z.array(z.looseObject({ type: z.string().optional(), uri: z.string().optional() })).nullish(),
  policies: z.array(z.looseObject({ id: z.string(), name: z.string().optional(), decision: z.string().optional(), precedence: z.number().optional(), include: z.array(Rule).optional() })).nullish(),
  session_duration: z.string().optional(),
  allowed_idps: z.array(z.string()).nullish(),
  auto_redirect_to_identity: z.boolean().optional(),
})
export type AccessApp = z.infer<typeof AccessApp>

export const ZoneSetting = z.looseObject({ id: z.string(), value: z.unknown(), editable: z.boolean().optional(), modified_on: z.string().nullish() })
export type ZoneSetting = z.infer<typeof ZoneSetting>

export const PageRule = z.looseObject({
  id: z.string(),
  status: z.string().optional(),
  targets: z.array(z.looseObject({ target: z.string().optional(), constraint: z.looseObject({ operator: z.string().optional(), value: z.string() }) })).default([]),
  actions: z.array(z.looseObject({ id: z.string(), value: z.unknown().optional() })).default([]),
})
export type PageRule = z.infer<typeof PageRule>

export const RulesetRule = z.looseObject({
  id: z.string().optional(),
  description: z.string().optional(),
  expression: z.string().optional(),
  action: z.string().optional(),
  action_parameters: z.record(z.string(), z.unknown()).optional(),
  enabled: z.boolean().optional(),
})
export const Ruleset = z.looseObject({ id: z.string(), name: z.string().optional(), phase: z.string().optional(), kind: z.string().optional(), rules: z.array(RulesetRule).nullish() })
export type Ruleset = z.infer<typeof Ruleset>

const TokenStatus = z.looseObject({ id: z.string().optional(), status: z.string() })

// ---------------------------------------------------------------- client

export interface Page<T> {
  items: T[]
}

export interface Cloudflare {
  baseUrl: string
  /** requests sent so far (retries included) */
  readonly count: number
  /** one API call: the envelope's `result`, validated. Writes under --dry-run return undefined. */
  call<S extends z.ZodType>(method: Method, path: string, schema: S, opts?: { query?: Record<string, string | number | boolean | undefined>; body?: unknown }): Promise<z.infer<S>>
  /** every item of a paged list (page-based or cursor-based) */
  list<S extends z.ZodType>(path: string, item: S, query?: Record<string, string | number | boolean | undefined>, perPage?: number): Promise<z.infer<S>[]>

  verifyToken(accountId?: string): Promise<{ status: string } | undefined>
  /** GET /zones?name=<name> (docs: api/resources/zones/methods/list) */
  zonesByName(name: string): Promise<Zone[]>
  /** GET /zones/{zone_id} */
  zone(zoneId: string): Promise<Zone>
  /** GET /accounts */
  accounts(): Promise<Array<z.infer<typeof Account>>>

  /** GET /accounts/{a}/cfd_tunnel?name=…&is_deleted=false */
  tunnelsByName(accountId: string, name: string): Promise<Tunnel[]>
  /** GET /accounts/{a}/cfd_tunnel/{t} */
  tunnel(accountId: string, tunnelId: string): Promise<Tunnel>
  /** POST /accounts/{a}/cfd_tunnel {name, config_src:"cloudflare"} */
  createTunnel(accountId: string, name: string): Promise<Tunnel | undefined>
  /** GET /accounts/{a}/cfd_tunnel/{t}/token: a bare string (a secret: never print it) */
  tunnelToken(accountId: string, tunnelId: string): Promise<string>
  /** GET /accounts/{a}/cfd_tunnel/{t}/configurations */
  tunnelConfiguration(accountId: string, tunnelId: string): Promise<TunnelConfiguration>
  /** PUT /accounts/{a}/cfd_tunnel/{t}/configurations {config}: replaces the whole configuration */
  putTunnelConfiguration(accountId: string, tunnelId: string, config: TunnelConfig): Promise<TunnelConfiguration | undefined>

  /** GET /zones/{z}/dns_records (all pages) */
  dnsRecords(zoneId: string, query?: Record<string, string | undefined>): Promise<DnsRecord[]>
  /** POST /zones/{z}/dns_records */
  createDnsRecord(zoneId: string, record: DnsRecordInput): Promise<DnsRecord | undefined>
  /** PUT /zones/{z}/dns_records/{id} (the full record) */
  updateDnsRecord(zoneId: string, id: string, record: DnsRecordInput): Promise<DnsRecord | undefined>
  /** DELETE /zones/{z}/dns_records/{id} */
  deleteDnsRecord(zoneId: string, id: string): Promise<void>
  /** POST /zones/{z}/dns_records/batch: every change in one request, applied atomically (empty groups left out) */
  batchDnsRecords(zoneId: string, batch: DnsBatch): Promise<DnsBatchResult | undefined>

  /** GET /accounts/{a}/access/organizations */
  accessOrganization(accountId: string): Promise<AccessOrganization>
  /** GET /accounts/{a}/access/apps (all pages) */
  accessApps(accountId: string): Promise<AccessApp[]>
  /** POST /accounts/{a}/access/apps */
  createAccessApp(accountId: string, app: Record<string, unknown>): Promise<AccessApp | undefined>
  /** PUT /accounts/{a}/access/apps/{id} (the full app) */
  updateAccessApp(accountId: string, id: string, app: Record<string, unknown>): Promise<AccessApp | undefined>
  /** DELETE /accounts/{a}/access/apps/{id} */
  deleteAccessApp(accountId: string, id: string): Promise<void>
  /** GET /accounts/{a}/access/policies (reusable policies, all pages) */
  accessPolicies(accountId: string): Promise<AccessPolicy[]>
  /** POST /accounts/{a}/access/policies */
  createAccessPolicy(accountId: string, policy: Record<string, unknown>): Promise<AccessPolicy | undefined>
  /** PUT /accounts/{a}/access/policies/{id} */
  updateAccessPolicy(accountId: string, id: string, policy: Record<string, unknown>): Promise<AccessPolicy | undefined>

  /** GET /zones/{z}/settings/{name} */
  zoneSetting(zoneId: string, name: string): Promise<ZoneSetting>
  /** PATCH /zones/{z}/settings/{name} {value} */
  patchZoneSetting(zoneId: string, name: string, value: unknown): Promise<ZoneSetting | undefined>
  /** GET /zones/{z}/pagerules */
  pageRules(zoneId: string): Promise<PageRule[]>
  /** GET /zones/{z}/rulesets/phases/{phase}/entrypoint; undefined while the phase has no ruleset (404) */
  phaseEntrypoint(zoneId: string, phase: string): Promise<Ruleset | undefined>
  /** POST /zones/{z}/purge_cache {purge_everything:true} */
  purgeEverything(zoneId: string): Promise<void>
}

type Query = Record<string, string | number | boolean | undefined>

export function createCloudflare(opts: CloudflareOptions): Cloudflare {
  const baseUrl = (opts.baseUrl ?? DEFAULT_API_BASE).replace(/\/+$/, '')
  const transport = opts.transport ?? createTransport({ maxRetries: 3, maxWaitMs: 60_000, ...opts.transportOptions })
  const authHeaders: Record<string, string> =
    'token' in opts.auth ? { authorization: `Bearer ${opts.auth.token}` } : { 'x-auth-email': opts.auth.email, 'x-auth-key': opts.auth.key }
  let diagnosis: Promise<'invalid' | 'valid' | 'unknown'> | undefined
  let accountHint: string | undefined

  async function raw(method: Method, path: string, query?: Query, body?: unknown) {
    const label = `Cloudflare ${method} ${path}`
    const res = await transport.send(method, baseUrl + path, { headers: authHeaders, query, body, label, retry429Always: true })
    if (res.skipped) return undefined
    const parsed = res.json === undefined ? undefined : Envelope.safeParse(res.json)
    if (!parsed?.success) {
      if (res.status >= 400)
        throw new CloudflareApiError(method, path, res.status, [], {
          message: `Cloudflare ${method} ${path} → ${res.status}: ${res.json === undefined ? 'not a JSON response' : 'not a Cloudflare API envelope'}`,
          hint: 'is CLOUDFLARE_API_BASE_URL right? It should end in /client/v4',
        })
      throw new HttpError('bad-response', method, baseUrl + path, `${label}: not a Cloudflare API envelope (HTTP ${res.status})`, {
        status: res.status,
        hint: 'is CLOUDFLARE_API_BASE_URL right? It should end in /client/v4',
      })
    }
    const env = parsed.data
    if (!env.success || res.status >= 400) throw await explain(new CloudflareApiError(method, path, res.status, env.errors))
    return env
  }

  /** Maps authentication failures to one sentence: a bad token, or the permission the token lacks. */
  async function explain(err: CloudflareApiError): Promise<CloudflareApiError> {
    const authish = err.status === 401 || err.status === 403 || err.has(10000, 9103, 9109, 6003, 1000)
    if (!authish) return err
    const method = err.method
    const where = `${method} ${err.path}`
    if (!('token' in opts.auth)) {
      if (err.has(9103, 9109, 6003) || err.status === 401)
        return new CloudflareApiError(method, err.path, err.status, err.errors, {
          message: `Cloudflare rejected CLOUDFLARE_EMAIL / CLOUDFLARE_API_KEY (${where}: ${err.errors.map((e) => `${e.message} [code: ${e.code}]`).join('; ') || `HTTP ${err.status}`})`,
          hint: 'check both values, or use an API token (CLOUDFLARE_API_TOKEN), which can be limited to what Stackyard needs',
        })
      return err
    }
    diagnosis ??= verify().then(
      (r) => (r && r.status === 'active' ? 'valid' : 'invalid'),
      (e) => (e instanceof CloudflareApiError && (e.status === 401 || e.status === 403 || e.has(1000, 10000, 6003)) ? 'invalid' : 'unknown'),
    )
    const state = await diagnosis
    if (state === 'invalid')
      return new CloudflareApiError(method, err.path, err.status, err.errors, {
        message: `the Cloudflare API token (CLOUDFLARE_API_TOKEN) is invalid, expired or disabled (${where} → ${err.status})`,
        hint: 'create a token at dash.cloudflare.com → My Profile → API Tokens and put it in .env as CLOUDFLARE_API_TOKEN',
      })
    const permission = permissionFor(method, err.path)
    if (state === 'valid' && permission)
      return new CloudflareApiError(method, err.path, err.status, err.errors, {
        message: `the Cloudflare API token lacks the permission "${permission}" (needed for ${where})`,
        hint: `edit the token at dash.cloudflare.com → My Profile → API Tokens and add "${permission}"`,
      })
    return err
  }

  async function verify(): Promise<{ status: string } | undefined> {
    try {
      const env = await rawNoExplain('GET', '/user/tokens/verify')
      return TokenStatus.parse(env?.result)
    } catch (e) {
      if (!accountHint) throw e
      const env = await rawNoExplain('GET', `/accounts/${accountHint}/tokens/verify`)
      return TokenStatus.parse(env?.result)
    }
  }

  async function rawNoExplain(method: Method, path: string) {
    const res = await transport.send(method, baseUrl + path, { headers: authHeaders, label: `Cloudflare ${method} ${path}`, retry429Always: true })
    const env = Envelope.safeParse(res.json)
    if (!env.success) throw new CloudflareApiError(method, path, res.status, [])
    if (!env.data.success || res.status >= 400) throw new CloudflareApiError(method, path, res.status, env.data.errors)
    return env.data
  }

  function check<S extends z.ZodType>(schema: S, value: unknown, method: string, path: string): z.infer<S> {
    const r = schema.safeParse(value)
    if (r.success) return r.data
    const issues = r.error.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`)
    throw new HttpError('bad-response', method, baseUrl + path, `Cloudflare ${method} ${path}: unexpected response shape (${issues.join('; ')})`, {
      hint: 'the API answered with a shape Stackyard does not know; run with --verbose and report it',
    })
  }

  async function call<S extends z.ZodType>(method: Method, path: string, schema: S, o: { query?: Query; body?: unknown } = {}): Promise<z.infer<S>> {
    const m = /^\/accounts\/([^/]+)/.exec(path)
    if (m) accountHint = m[1]
    const env = await raw(method, path, o.query, o.body)
    if (env === undefined) return undefined as z.infer<S>
    return check(schema, env.result, method, path)
  }

  async function list<S extends z.ZodType>(path: string, item: S, query: Query = {}, perPage = 100): Promise<z.infer<S>[]> {
    const items: z.infer<S>[] = []
    let page = 1
    let cursor: string | undefined
    for (let guard = 0; guard < 1000; guard++) {
      const q: Query = cursor ? { ...query, per_page: perPage, cursor } : { ...query, page, per_page: perPage }
      const env = await raw('GET', path, q)
      const batch = check(z.array(item), env?.result ?? [], 'GET', path)
      items.push(...batch)
      const info = env?.result_info
      const next = info?.cursors?.after ?? info?.cursor
      if (next) {
        if (batch.length === 0 || next === cursor) break
        cursor = next
        continue
      }
      if (info?.total_pages !== undefined && info.total_pages !== null) {
        if (page >= info.total_pages) break
      } else if (batch.length < (info?.per_page ?? perPage)) break
      if (batch.length === 0) break
      page++
    }
    return items
  }

  const enc = encodeURIComponent
  const acct = (a: string) => `/accounts/${enc(a)}`
  const zone = (z: string) => `/zones/${enc(z)}`
  const Void = z.unknown()

  return {
    baseUrl,
    get count() {
      return transport.count
    },
    call,
    list,
    verifyToken: async (accountId) => {
      if (accountId) accountHint = accountId
      return verify()
    },
    zonesByName: (name) => list(`/zones`, Zone, { name }, 50),
    zone: (zoneId) => call('GET', zone(zoneId), Zone),
    accounts: () => list('/accounts', Account, {}, 50),

    tunnelsByName: (a, name) => list(`${acct(a)}/cfd_tunnel`, Tunnel, { name, is_deleted: false }),
    tunnel: (a, t) => call('GET', `${acct(a)}/cfd_tunnel/${enc(t)}`, Tunnel),
    createTunnel: (a, name) => call('POST', `${acct(a)}/cfd_tunnel`, Tunnel, { body: { name, config_src: 'cloudflare' } }),
    tunnelToken: (a, t) => call('GET', `${acct(a)}/cfd_tunnel/${enc(t)}/token`, z.string().min(1)),
    tunnelConfiguration: (a, t) => call('GET', `${acct(a)}/cfd_tunnel/${enc(t)}/configurations`, TunnelConfiguration),
    putTunnelConfiguration: (a, t, config) => call('PUT', `${acct(a)}/cfd_tunnel/${enc(t)}/configurations`, TunnelConfiguration, { body: { config } }),

    dnsRecords: (zoneId, query = {}) => list(`${zone(zoneId)}/dns_records`, DnsRecord, query, 500),
    createDnsRecord: (zoneId, record) => call('POST', `${zone(zoneId)}/dns_records`, DnsRecord, { body: record }),
    updateDnsRecord: (zoneId, id, record) => call('PUT', `${zone(zoneId)}/dns_records/${enc(id)}`, DnsRecord, { body: record }),
    deleteDnsRecord: async (zoneId, id) => {
      await call('DELETE', `${zone(zoneId)}/dns_records/${enc(id)}`, Void)
    },
    batchDnsRecords: (zoneId, batch) => {
      const body = Object.fromEntries(Object.entries(batch).filter(([, v]) => Array.isArray(v) && v.length))
      return call('POST', `${zone(zoneId)}/dns_records/batch`, DnsBatchResult, { body })
    },

    accessOrganization: (a) => call('GET', `${acct(a)}/access/organizations`, AccessOrganization),
    accessApps: (a) => list(`${acct(a)}/access/apps`, AccessApp),
    createAccessApp: (a, app) => call('POST', `${acct(a)}/access/apps`, AccessApp, { body: app }),
    updateAccessApp: (a, id, app) => call('PUT', `${acct(a)}/access/apps/${enc(id)}`, AccessApp, { body: app }),
    deleteAccessApp: async (a, id) => {
      await call('DELETE', `${acct(a)}/access/apps/${enc(id)}`, Void)
    },
    accessPolicies: (a) => list(`${acct(a)}/access/policies`, AccessPolicy),
    createAccessPolicy: (a, policy) => call('POST', `${acct(a)}/access/policies`, AccessPolicy, { body: policy }),
    updateAccessPolicy: (a, id, policy) => call('PUT', `${acct(a)}/access/policies/${enc(id)}`, AccessPolicy, { body: policy }),

    zoneSetting: (zoneId, name) => call('GET', `${zone(zoneId)}/settings/${enc(name)}`, ZoneSetting),
    patchZoneSetting: (zoneId, name, value) => call('PATCH', `${zone(zoneId)}/settings/${enc(name)}`, ZoneSetting, { body: { value } }),
    pageRules: (zoneId) => call('GET', `${zone(zoneId)}/pagerules`, z.array(PageRule)),
    phaseEntrypoint: async (zoneId, phase) => {
      try {
        return await call('GET', `${zone(zoneId)}/rulesets/phases/${enc(phase)}/entrypoint`, Ruleset)
      } catch (err) {
        if (err instanceof CloudflareApiError && err.status === 404) return undefined
        throw err
      }
    },
    purgeEverything: async (zoneId) => {
      await call('POST', `${zone(zoneId)}/purge_cache`, Void, { body: { purge_everything: true } })
    },
  }
}
