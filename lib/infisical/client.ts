// Infisical REST client over lib/core/http.ts: base URL, universal-auth login and re-login, v3 raw + v3 batch raw secrets,
// folders, admin bootstrap and the calls that set up a machine identity; zod at the edge; every failure mapped to one
// sentence. No env reads, no files, no task logic; tokens live in memory only and never reach a log or an error.
// API reference: https://infisical.com/docs/api-reference/overview/introduction (the v3 raw secrets, folders and universal-auth endpoints).
import { z } from 'zod'
import { FailureError } from '../core/errors.ts'
import { createTransport, HttpError, type HttpResponse, type Method, type Transport } from '../core/http.ts'
import { printable } from '../core/format.ts'
import { registerSecret } from '../core/redact.ts'
import { isSecretFrom } from '../env/secrecy.ts'

export interface InfisicalScope {
  projectId: string
  /** environment slug, e.g. dev */
  environment: string
  /** folder path, "/" for the root */
  secretPath: string
}

export interface RemoteSecret {
  key: string
  value: string
  version?: number
  updatedAt?: string
}

export interface SecretWrite {
  key: string
  value: string
}

export interface WriteOutcome {
  /** items sent (or that would be sent under --dry-run) */
  count: number
  /** requests made */
  requests: number
  /** a change-approval policy holds the write: it is pending, not done */
  pending: boolean
  /** --dry-run: nothing was sent */
  skipped: boolean
}

export type InfisicalErrorKind =
  | 'credentials' // the machine identity's client ID/secret (or a token) were refused
  | 'access' // authenticated, but no permission on the project / environment / folder
  | 'auth' // 401/403 that could be either of the two above
  | 'project' // unknown project
  | 'environment' // unknown environment slug
  | 'folder' // secret path does not exist
  | 'not-found' // a secret that should exist does not
  | 'exists' // a secret that should not exist does
  | 'validation' // the server rejected our request body: a client bug
  | 'unreachable'
  | 'not-api' // an HTML page or other non-JSON body: the URL is not the API
  | 'rate-limited'
  | 'too-large' // a request body over the server's limit (1 MiB)
  | 'server'
  | 'bad-response'

/** One failed Infisical call, as one sentence plus a hint. Exit 1. Never carries a token. */
export class InfisicalApiError extends FailureError {
  kind: InfisicalErrorKind
  status?: number
  endpoint: string
  /** the server's `error` field, when it sent one */
  serverError?: string
  constructor(kind: InfisicalErrorKind, endpoint: string, message: string, extra: { status?: number; serverError?: string; hint?: string } = {}) {
    super(message, { hint: extra.hint })
    this.kind = kind
    this.endpoint = endpoint
    this.status = extra.status
    this.serverError = extra.serverError
  }
}

export interface InfisicalClientOptions {
  /** the instance URL (INFISICAL_API_URL or INFISICAL_SITE_URL); a trailing /api is accepted and dropped */
  baseUrl: string
  /** universal auth (machine identity) */
  clientId?: string
  clientSecret?: string
  /** a ready access token instead (e.g. the admin identity token bootstrap returns) */
  accessToken?: string
  transport?: Transport
  /** under --dry-run, writes are described here instead of sent (logins and reads still happen) */
  dryRun?: { skipped(what: string): void }
  /** items per batch request (default 100); a batch is also cut so that its JSON body stays within MAX_BODY_BYTES */
  batchSize?: number
  now?: () => number
  /** words used in messages, e.g. { project: 'INFISICAL_PROJECT_ID' } */
  names?: { project?: string; environment?: string; path?: string; credentials?: string }
}

/** Infisical (Fastify's default bodyLimit) refuses request bodies over 1 MiB with 413. */
export const MAX_BODY_BYTES = 1024 * 1024
/** a 2024 server's per-route budgets per minute and IP: list and each batch verb, folders, login */
export const RATE_BUDGET = 'a 2024 server allows 40 requests a minute per route (the secret list and each batch verb), 60 for folders and 200 for logins, per IP'

/**
 * The batch body as the client sends it, cut into parts of at most `batchSize` items whose JSON bodies stay within
 * `maxBytes`. An item too big to fit in any body is returned in `oversized` (nothing should be sent then).
 */
export function planBatches<T>(envelope: Record<string, unknown>, items: readonly T[], o: { batchSize?: number; maxBytes?: number } = {}): { parts: T[][]; oversized: T[] } {
  const batchSize = o.batchSize ?? 100
  const maxBytes = o.maxBytes ?? MAX_BODY_BYTES
  const base = Buffer.byteLength(JSON.stringify({ ...envelope, secrets: [] }))
  const parts: T[][] = []
  const oversized: T[] = []
  let part: T[] = []
  let bytes = base
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item))
    if (base + size > maxBytes) {
      oversized.push(item)
      continue
    }
    const added = size + (part.length ? 1 : 0)
    if (part.length >= batchSize || bytes + added > maxBytes) {
      parts.push(part)
      part = []
      bytes = base
    }
    bytes += size + (part.length ? 1 : 0)
    part.push(item)
  }
  if (part.length) parts.push(part)
  return { parts, oversized }
}

// ---- response shapes (zod at the edge; unknown fields pass) ----------------------------------------------------

const SecretItem = z.looseObject({
  secretKey: z.string(),
  secretValue: z.string(),
  version: z.number().optional(),
  type: z.string().optional(),
  updatedAt: z.string().optional(),
  secretValueHidden: z.boolean().optional(),
})
const SecretList = z.looseObject({ secrets: z.array(SecretItem) })
const Approval = z.looseObject({ approval: z.looseObject({}) })
const BatchResult = z.union([Approval, z.looseObject({ secrets: z.array(z.looseObject({})) })])
const SingleResult = z.union([Approval, z.looseObject({ secret: z.looseObject({}) })])
const LoginResult = z.looseObject({ accessToken: z.string().min(1), expiresIn: z.coerce.number(), accessTokenMaxTTL: z.coerce.number().optional(), tokenType: z.string().optional() })
const StatusResult = z.looseObject({ message: z.string().optional(), date: z.string().optional() })
const AdminConfig = z.looseObject({ config: z.looseObject({ initialized: z.boolean().optional(), allowSignUp: z.boolean().optional() }) })
const BootstrapResult = z.looseObject({
  organization: z.looseObject({ id: z.string(), slug: z.string().optional(), name: z.string().optional() }),
  identity: z.looseObject({ id: z.string(), credentials: z.looseObject({ token: z.string().min(1) }) }),
})
const Environment = z.looseObject({ id: z.string().optional(), name: z.string(), slug: z.string() })
const ProjectResult = z.looseObject({ project: z.looseObject({ id: z.string(), slug: z.string().optional(), environments: z.array(Environment).default([]) }) })
const EnvironmentResult = z.looseObject({ environment: Environment })
const IdentityResult = z.looseObject({ identity: z.looseObject({ id: z.string() }) })
const UniversalAuthResult = z.looseObject({ identityUniversalAuth: z.looseObject({ clientId: z.string().min(1) }) })
const ClientSecretResult = z.looseObject({ clientSecret: z.string().min(1) })
const MembershipResult = z.looseObject({ identityMembership: z.looseObject({}) })
const FolderList = z.looseObject({ folders: z.array(z.looseObject({ name: z.string() })) })
const FolderResult = z.looseObject({ folder: z.looseObject({}) })
const ErrorBody = z.looseObject({ statusCode: z.number().optional(), message: z.unknown().optional(), error: z.string().optional() })

export interface InfisicalClient {
  readonly origin: string
  /** HTTP requests sent so far (logins and retries included) */
  readonly requests: number
  /** GET /api/status: up and able to reach its database and Redis */
  status(): Promise<{ ok: boolean; message: string }>
  /** GET /api/v1/admin/config */
  adminConfig(): Promise<{ initialized: boolean }>
  /** Does the server have POST /api/v1/admin/bootstrap? Probed with an empty body, which changes nothing. */
  hasBootstrap(): Promise<boolean>
  /** POST /api/v1/admin/bootstrap: admin user, organization and an admin identity token */
  bootstrap(input: { email: string; password: string; organization: string }): Promise<{ organizationId: string; organizationSlug?: string; token: string }>
  /** POST /api/v1/auth/universal-auth/login; done on demand by every authenticated call */
  login(): Promise<void>
  /** GET /api/v3/secrets/raw: shared secrets of one folder; imports left out */
  listSecrets(scope: InfisicalScope, opts?: { expand?: boolean }): Promise<RemoteSecret[]>
  /** keys whose value alone makes a batch body larger than the server accepts (MAX_BODY_BYTES): they cannot be sent */
  oversized(scope: InfisicalScope, items: SecretWrite[]): string[]
  /** POST /api/v3/secrets/batch/raw, chunked by count and encoded size */
  createSecrets(scope: InfisicalScope, items: SecretWrite[]): Promise<WriteOutcome>
  /** PATCH /api/v3/secrets/batch/raw, chunked; every key must exist */
  updateSecrets(scope: InfisicalScope, items: SecretWrite[]): Promise<WriteOutcome>
  /** DELETE /api/v3/secrets/batch/raw, chunked; every key must exist */
  deleteSecrets(scope: InfisicalScope, keys: string[]): Promise<WriteOutcome>
  /** POST|PATCH|DELETE /api/v3/secrets/raw/{name}: one key per request (baselines and single edits) */
  writeOne(method: 'POST' | 'PATCH' | 'DELETE', scope: InfisicalScope, key: string, value?: string): Promise<WriteOutcome>
  /** GET /api/v1/folders: names of the folders directly under `path` */
  listFolders(scope: Omit<InfisicalScope, 'secretPath'>, path: string): Promise<string[]>
  /** POST /api/v1/folders for each missing segment of scope.secretPath; returns the folders created */
  ensureFolder(scope: InfisicalScope): Promise<string[]>
  /** POST /api/v2/workspace: a project (default environments dev, staging, prod) */
  createProject(name: string): Promise<{ id: string; environments: string[] }>
  /** POST /api/v1/workspace/{projectId}/environments */
  createEnvironment(projectId: string, name: string, slug: string): Promise<void>
  /** POST /api/v1/identities: a machine identity in the organization */
  createIdentity(organizationId: string, name: string, role?: string): Promise<{ id: string }>
  /** POST /api/v1/auth/universal-auth/identities/{id}: universal auth on the identity; returns its client ID */
  attachUniversalAuth(identityId: string): Promise<{ clientId: string }>
  /** GET /api/v1/auth/universal-auth/identities/{id}: the client ID of universal auth already on the identity */
  getUniversalAuth(identityId: string): Promise<{ clientId: string }>
  /** POST /api/v1/auth/universal-auth/identities/{id}/client-secrets */
  createClientSecret(identityId: string, description: string): Promise<{ clientSecret: string }>
  /** POST /api/v2/workspace/{projectId}/identity-memberships/{identityId} */
  addIdentityToProject(projectId: string, identityId: string, role?: string): Promise<void>
}

/** The instance origin from INFISICAL_API_URL / INFISICAL_SITE_URL: scheme://host[:port][/prefix], without /api. */
export function normalizeBaseUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url.trim())
  } catch {
    throw new InfisicalApiError('unreachable', 'config', `"${url}" is not a URL`, { hint: 'set INFISICAL_API_URL to the instance address, e.g. http://localhost:8020' })
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InfisicalApiError('unreachable', 'config', `"${url}" is not an http(s) URL`, { hint: 'set INFISICAL_API_URL to the instance address, e.g. http://localhost:8020' })
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api$/, '')
  return `${u.protocol}//${u.host}${path}`
}

export function createInfisicalClient(o: InfisicalClientOptions): InfisicalClient {
  const origin = normalizeBaseUrl(o.baseUrl)
  const transport = o.transport ?? createTransport()
  const now = o.now ?? Date.now
  const batchSize = o.batchSize ?? 100
  const names = { project: 'the project', environment: 'the environment', path: 'the folder', credentials: 'the machine identity credentials', ...o.names }
  let token: { value: string; obtainedAt: number; ttlMs: number } | undefined

  const describe = (scope?: Partial<InfisicalScope>) =>
    scope ? [scope.projectId && `project ${scope.projectId}`, scope.environment && `environment "${scope.environment}"`, scope.secretPath && `path ${scope.secretPath}`].filter(Boolean).join(', ') : ''

  async function send(method: Method, path: string, opts: { query?: Record<string, string | boolean | undefined>; body?: unknown; auth?: boolean; label: string }): Promise<HttpResponse> {
    // the token is checked before every attempt (a 429 wait may outlast it), and a 500 to a request carrying one is
    // handed back at once: a 2024 server's answer to an expired or malformed JWT, which call() answers by logging in
    try {
      return await transport.send(method, origin + path, {
        query: opts.query,
        body: opts.body,
        retry429Always: true,
        label: opts.label,
        ...(opts.auth ? { authorize: async () => ({ authorization: `Bearer ${await accessToken()}` }), noRetry: [500] } : {}),
      })
    } catch (err) {
      throw fromTransport(err, opts.label)
    }
  }

  function fromTransport(err: unknown, label: string): Error {
    if (!(err instanceof HttpError)) return err as Error
    if (err.kind === 'rate-limited')
      return new InfisicalApiError('rate-limited', label, `Infisical at ${origin} keeps rate-limiting ${label} (429)`, { status: 429, hint: `${RATE_BUDGET}: wait a minute and run the task again` })
    if (err.kind === 'timeout') return new InfisicalApiError('unreachable', label, `Infisical at ${origin} did not answer ${label} in time`, { hint: 'the server may be starting or overloaded; check `docker compose ps` and try again' })
    return new InfisicalApiError('unreachable', label, `Infisical is unreachable at ${origin} (${err.message.replace(/^cannot reach [^:]+: /, '')})`, {
      hint: 'check that it is running (STACKYARD_PROFILES=infisical, then up) and that INFISICAL_API_URL / INFISICAL_SITE_URL point at it',
    })
  }

  async function accessToken(): Promise<string> {
    if (o.accessToken) return o.accessToken
    if (!token || now() - token.obtainedAt >= token.ttlMs * 0.8) await login()
    return token!.value
  }

  async function login(): Promise<void> {
    if (o.accessToken) return
    if (!o.clientId || !o.clientSecret)
      throw new InfisicalApiError('credentials', 'login', 'no machine identity credentials to log in to Infisical with', { hint: 'set INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET in .env (npx zx tasks/00-infrastructure/infisical/bootstrap.ts creates them)' })
    const label = 'POST /api/v1/auth/universal-auth/login'
    token = undefined
    const res = await send('POST', '/api/v1/auth/universal-auth/login', { body: { clientId: o.clientId, clientSecret: o.clientSecret }, label })
    if (res.status >= 300) {
      const failure = classify(res, label)
      if (res.status >= 400 && res.status < 500 && failure.kind !== 'validation' && failure.kind !== 'not-api')
        throw new InfisicalApiError('credentials', label, `Infisical refused ${names.credentials} (HTTP ${res.status}${failure.serverError ? ` ${failure.serverError}` : ''}: ${failure.serverMessage || 'login failed'})`, {
          status: res.status,
          serverError: failure.serverError,
          hint: 'check INFISICAL_CLIENT_ID / INFISICAL_CLIENT_SECRET in .env (a client secret can expire or be revoked: create a new one in the identity\'s Universal Auth settings)',
        })
      throw failure.error
    }
    const body = parse(LoginResult, res, label)
    token = { value: body.accessToken, obtainedAt: now(), ttlMs: Math.max(1, body.expiresIn) * 1000 }
  }

  /**
   * An authenticated call: on an auth-family failure (401/403 other than a validation error, or a 500 to a request
   * that carried a token: a 2024 server's answer to a malformed or expired JWT) it logs in again and retries once.
   */
  async function call<S extends z.ZodType>(method: Method, path: string, schema: S, opts: { query?: Record<string, string | boolean | undefined>; body?: unknown; scope?: Partial<InfisicalScope>; label?: string } = {}): Promise<z.infer<S>> {
    const label = opts.label ?? `${method} ${path.split('?')[0]}`
    for (let attempt = 0; ; attempt++) {
      const res = await send(method, path, { query: opts.query, body: opts.body, auth: true, label })
      if (res.status >= 200 && res.status < 300) return parse(schema, res, label)
      const failure = classify(res, label, opts.scope)
      const authFamily = failure.kind === 'auth' || failure.kind === 'credentials' || failure.kind === 'access' || (res.status === 500 && res.json !== undefined)
      if (attempt === 0 && authFamily && !o.accessToken) {
        token = undefined
        continue
      }
      throw failure.error
    }
  }

  interface Classified {
    kind: InfisicalErrorKind
    serverError?: string
    serverMessage: string
    error: InfisicalApiError
  }

  /** Maps a non-2xx answer of either status convention to one kind and one sentence. */
  function classify(res: HttpResponse, label: string, scope?: Partial<InfisicalScope>): Classified {
    const where = describe(scope)
    const body = ErrorBody.safeParse(res.json)
    // the server's words are shown to the user: never a terminal escape from them
    const serverError = body.success && body.data.error !== undefined ? printable(body.data.error) : undefined
    const raw = body.success ? body.data.message : undefined
    const serverMessage = printable(typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.map((i) => (i && typeof i === 'object' && 'message' in i ? String((i as { message: unknown }).message) : JSON.stringify(i))).join('; ') : '')
    const make = (kind: InfisicalErrorKind, message: string, hint?: string): Classified => ({
      kind,
      serverError,
      serverMessage,
      error: new InfisicalApiError(kind, label, message, { status: res.status, serverError, hint }),
    })
    const said = serverMessage ? ` (server said: ${serverError ? `${serverError}: ` : ''}${serverMessage})` : serverError ? ` (server said: ${serverError})` : ''
    if (res.json === undefined)
      return make('not-api', `Infisical at ${origin} answered ${label} with ${printable(res.headers['content-type']?.split(';')[0] || 'a non-JSON body')} instead of JSON (HTTP ${res.status})`, 'INFISICAL_API_URL (or INFISICAL_SITE_URL) must point at the Infisical instance itself, e.g. http://localhost:8020, not a web page or a proxy login')
    const msg = serverMessage.toLowerCase()
    if (res.status === 422 || serverError === 'ValidationFailure' || (res.status === 400 && Array.isArray(raw)))
      return make('validation', `Infisical rejected the request ${label} as invalid${said}`, 'this is a bug in Stackyard (or an unsupported server version); run with --verbose and report it')
    if (res.status === 401 || res.status === 403) {
      if (serverError === 'PermissionDenied' || /permission|not allowed|forbidden/.test(msg))
        return make('access', `the machine identity has no permission for ${where || 'this request'}${said}`, `add the identity to the project with a role that can read and write secrets in ${scope?.environment ? `"${scope.environment}"` : 'the environment'} (Project → Access Control → Machine Identities)`)
      if (/token|credential|unauthori[sz]ed|client secret|expired|revoked|jwt/.test(msg) || /Unauthorized|TokenError/.test(serverError ?? ''))
        return make('credentials', `Infisical refused ${names.credentials} or the session token${said}`, 'check INFISICAL_CLIENT_ID / INFISICAL_CLIENT_SECRET in .env')
      return make('auth', `Infisical refused ${label} with HTTP ${res.status}: either ${names.credentials} are no longer valid, or the identity lacks permission for ${where || 'this request'}${said}`, 'check INFISICAL_CLIENT_ID / INFISICAL_CLIENT_SECRET, and that the identity is a member of the project with access to the environment')
    }
    if (res.status === 400 || res.status === 404) {
      if (/folder/.test(msg) && /not (found|exist)/.test(msg) && (!scope?.secretPath || scope.secretPath === '/'))
        return make('environment', `environment "${scope?.environment ?? '?'}" does not exist in ${scope?.projectId ? `project ${scope.projectId}` : 'the project'}${said}`, 'set INFISICAL_ENVIRONMENT to an environment slug of the project (dev, staging, prod by default)')
      if (/folder/.test(msg) && /not (found|exist)/.test(msg))
        return make('folder', `folder ${scope?.secretPath ?? ''} does not exist in ${scope?.environment ? `environment "${scope.environment}"` : 'the environment'}${said}`, 'push creates it; or set INFISICAL_SECRET_PATH to an existing folder')
      if (/environment/.test(msg) && /not (found|exist)/.test(msg))
        return make('environment', `environment "${scope?.environment ?? '?'}" does not exist in ${scope?.projectId ? `project ${scope.projectId}` : 'the project'}${said}`, 'set INFISICAL_ENVIRONMENT to an environment slug of the project (dev, staging, prod by default)')
      if (/(project|workspace)/.test(msg) && /not (found|exist)/.test(msg))
        return make('project', `project ${scope?.projectId ?? '?'} does not exist on ${origin}${said}`, 'set INFISICAL_PROJECT_ID to the project ID shown in Project Settings')
      if (/already exist/.test(msg)) return make('exists', `some secrets already exist in ${where}${said}`, 'someone changed Infisical meanwhile: run the task again (it plans from the current state)')
      if (/secret/.test(msg) && /not (found|exist)/.test(msg))
        return make('not-found', `some secrets no longer exist in ${where}${said}`, 'someone changed Infisical meanwhile: run the task again (it plans from the current state)')
      if (res.status === 404) return make('not-api', `Infisical at ${origin} has no ${label} (HTTP 404)${said}`, 'the server may be too old for this call, or INFISICAL_API_URL points at something else')
    }
    if (res.status === 413)
      return make('too-large', `Infisical refused ${label} as too large (HTTP 413): it accepts request bodies of at most ${MAX_BODY_BYTES} bytes (1 MiB)${said}`, 'a single value this big cannot be stored through the API: keep it out of the sync (INFISICAL_SYNC_EXCLUDE) or in a file')
    if (res.status >= 500) return make('server', `Infisical failed on ${label} (HTTP ${res.status})${said}`, 'see the server logs (docker compose logs infisical-backend); nothing was applied by this request')
    return make('server', `Infisical answered ${label} with HTTP ${res.status}${said}`, 'run with --verbose for details')
  }

  function parse<S extends z.ZodType>(schema: S, res: HttpResponse, label: string): z.infer<S> {
    if (res.json === undefined) throw classify(res, label).error
    const r = schema.safeParse(res.json)
    if (r.success) return r.data
    const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    throw new InfisicalApiError('bad-response', label, `Infisical answered ${label} with an unexpected shape (${issues.join('; ')})`, { status: res.status, hint: 'the server may run a version this client does not know; run with --verbose and report it' })
  }

  const scopeBody = (s: InfisicalScope) => ({ workspaceId: s.projectId, environment: s.environment, secretPath: s.secretPath })

  async function batch(method: 'POST' | 'PATCH' | 'DELETE', scope: InfisicalScope, secrets: Array<Record<string, unknown>>, verb: string): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { count: secrets.length, requests: 0, pending: false, skipped: false }
    if (secrets.length === 0) return outcome
    const label = `${method} /api/v3/secrets/batch/raw`
    const { parts, oversized } = planBatches(scopeBody(scope), secrets, { batchSize })
    if (oversized.length) throw tooLarge(label, oversized.map((s) => String(s.secretKey)))
    if (o.dryRun) {
      for (const part of parts) o.dryRun.skipped(`${label} (${verb} ${part.length}: ${part.map((s) => s.secretKey).join(', ')})`)
      outcome.skipped = true
      return outcome
    }
    for (const part of parts) {
      const r = await call(method, '/api/v3/secrets/batch/raw', BatchResult, { body: { ...scopeBody(scope), secrets: part }, scope, label })
      outcome.requests++
      if ('approval' in r) outcome.pending = true
    }
    return outcome
  }

  const tooLarge = (label: string, keys: string[]) =>
    new InfisicalApiError('too-large', label, `${keys.join(', ')}: ${keys.length === 1 ? 'its value is' : 'their values are'} too large for one request: Infisical accepts request bodies of at most ${MAX_BODY_BYTES} bytes (1 MiB); nothing was sent`, {
      hint: 'keep such a value out of the sync (INFISICAL_SYNC_EXCLUDE) or in a file',
    })

  const client: InfisicalClient = {
    origin,
    get requests() {
      return transport.count
    },
    async status() {
      const label = 'GET /api/status'
      const res = await send('GET', '/api/status', { label })
      if (res.status === 503) return { ok: false, message: 'Infisical is up but cannot reach its database or Redis (503)' }
      if (res.status >= 300) throw classify(res, label).error
      return { ok: true, message: parse(StatusResult, res, label).message ?? 'ok' }
    },
    async adminConfig() {
      const label = 'GET /api/v1/admin/config'
      const res = await send('GET', '/api/v1/admin/config', { label })
      if (res.status >= 300) throw classify(res, label).error
      return { initialized: parse(AdminConfig, res, label).config.initialized === true }
    },
    async hasBootstrap() {
      const label = 'POST /api/v1/admin/bootstrap'
      const res = await send('POST', '/api/v1/admin/bootstrap', { body: {}, label })
      // A route that exists rejects the empty body (400/401/403/422 with JSON); a 2024 build answers 404 or an HTML page.
      return res.json !== undefined && res.status !== 404 && res.status < 500
    },
    async bootstrap(input) {
      const label = 'POST /api/v1/admin/bootstrap'
      if (o.dryRun) {
        o.dryRun.skipped(`${label} (admin ${input.email}, organization "${input.organization}")`)
        return { organizationId: '(dry-run)', token: '' }
      }
      const res = await send('POST', '/api/v1/admin/bootstrap', { body: input, label })
      if (res.status >= 300) {
        const c = classify(res, label)
        if (/already|initiali[sz]ed|bootstrapped/i.test(c.serverMessage))
          throw new InfisicalApiError('exists', label, `Infisical at ${origin} is already bootstrapped${c.serverMessage ? ` (server said: ${c.serverMessage})` : ''}`, { status: res.status, hint: 'give an existing identity\'s credentials with --client-id and --client-secret instead' })
        throw c.error
      }
      const b = parse(BootstrapResult, res, label)
      return { organizationId: b.organization.id, organizationSlug: b.organization.slug, token: b.identity.credentials.token }
    },
    login,
    async listSecrets(scope, opts = {}) {
      const r = await call('GET', '/api/v3/secrets/raw', SecretList, {
        query: { workspaceId: scope.projectId, environment: scope.environment, secretPath: scope.secretPath, expandSecretReferences: opts.expand ? 'true' : 'false', include_imports: 'false', recursive: 'false' },
        scope,
      })
      const hidden = r.secrets.filter((s) => s.secretValueHidden)
      if (hidden.length)
        throw new InfisicalApiError('access', 'GET /api/v3/secrets/raw', `the machine identity may list but not read the values of ${hidden.length} secret(s) in ${describe(scope)}`, { hint: 'give the identity a project role that can read secret values' })
      // A 2024 server lists an unknown environment (or a missing folder) as empty: ask the folder route, which says so.
      if (r.secrets.length === 0) await client.listFolders(scope, '/')
      const shared = r.secrets.filter((s) => (s.type ?? 'shared') === 'shared')
      // every value read from Infisical is masked in what is printed, unless its key is a declared non-secret setting
      for (const s of shared) if (isSecretFrom(s.secretKey, 'infisical')) registerSecret(s.secretValue)
      return shared.map((s) => ({ key: s.secretKey, value: s.secretValue, version: s.version, updatedAt: s.updatedAt }))
    },
    oversized: (scope, items) => planBatches(scopeBody(scope), items.map((i) => ({ secretKey: i.key, secretValue: i.value })), { batchSize }).oversized.map((s) => s.secretKey),
    createSecrets: (scope, items) => batch('POST', scope, items.map((i) => ({ secretKey: i.key, secretValue: i.value })), 'create'),
    updateSecrets: (scope, items) => batch('PATCH', scope, items.map((i) => ({ secretKey: i.key, secretValue: i.value })), 'update'),
    deleteSecrets: (scope, keys) => batch('DELETE', scope, keys.map((k) => ({ secretKey: k, type: 'shared' })), 'delete'),
    async writeOne(method, scope, key, value) {
      const path = `/api/v3/secrets/raw/${encodeURIComponent(key)}`
      const label = `${method} /api/v3/secrets/raw/{name}`
      if (o.dryRun) {
        o.dryRun.skipped(`${method} /api/v3/secrets/raw/${key}`)
        return { count: 1, requests: 0, pending: false, skipped: true }
      }
      const body = method === 'DELETE' ? { ...scopeBody(scope), type: 'shared' } : { ...scopeBody(scope), secretValue: value ?? '', type: 'shared' }
      const r = await call(method, path, SingleResult, { body, scope, label })
      return { count: 1, requests: 1, pending: 'approval' in r, skipped: false }
    },
    async listFolders(scope, path) {
      const r = await call('GET', '/api/v1/folders', FolderList, { query: { workspaceId: scope.projectId, environment: scope.environment, path }, scope: { ...scope, secretPath: path } })
      return r.folders.map((f) => f.name)
    },
    async ensureFolder(scope) {
      const segments = scope.secretPath.split('/').filter(Boolean)
      const created: string[] = []
      let parent = '/'
      for (const name of segments) {
        const existing = created.length ? [] : await client.listFolders(scope, parent)
        const full = parent === '/' ? `/${name}` : `${parent}/${name}`
        if (!existing.includes(name)) {
          if (o.dryRun) o.dryRun.skipped(`POST /api/v1/folders (create ${full})`)
          else await call('POST', '/api/v1/folders', FolderResult, { body: { workspaceId: scope.projectId, environment: scope.environment, name, path: parent }, scope: { ...scope, secretPath: parent } })
          created.push(full)
        }
        parent = full
      }
      return created
    },
    async createProject(name) {
      if (o.dryRun) {
        o.dryRun.skipped(`POST /api/v2/workspace (project "${name}")`)
        return { id: '(dry-run)', environments: ['dev', 'staging', 'prod'] }
      }
      const r = await call('POST', '/api/v2/workspace', ProjectResult, { body: { projectName: name } })
      return { id: r.project.id, environments: r.project.environments.map((e) => e.slug) }
    },
    async createEnvironment(projectId, name, slug) {
      if (o.dryRun) return o.dryRun.skipped(`POST /api/v1/workspace/${projectId}/environments (${slug})`)
      await call('POST', `/api/v1/workspace/${encodeURIComponent(projectId)}/environments`, EnvironmentResult, { body: { name, slug }, label: 'POST /api/v1/workspace/{id}/environments' })
    },
    async createIdentity(organizationId, name, role = 'member') {
      if (o.dryRun) {
        o.dryRun.skipped(`POST /api/v1/identities (machine identity "${name}")`)
        return { id: '(dry-run)' }
      }
      const r = await call('POST', '/api/v1/identities', IdentityResult, { body: { name, organizationId, role } })
      return { id: r.identity.id }
    },
    async attachUniversalAuth(identityId) {
      if (o.dryRun) {
        o.dryRun.skipped(`POST /api/v1/auth/universal-auth/identities/${identityId}`)
        return { clientId: '(dry-run)' }
      }
      const r = await call('POST', `/api/v1/auth/universal-auth/identities/${encodeURIComponent(identityId)}`, UniversalAuthResult, { body: {}, label: 'POST /api/v1/auth/universal-auth/identities/{id}' })
      return { clientId: r.identityUniversalAuth.clientId }
    },
    async getUniversalAuth(identityId) {
      const r = await call('GET', `/api/v1/auth/universal-auth/identities/${encodeURIComponent(identityId)}`, UniversalAuthResult, { label: 'GET /api/v1/auth/universal-auth/identities/{id}' })
      return { clientId: r.identityUniversalAuth.clientId }
    },
    async createClientSecret(identityId, description) {
      if (o.dryRun) {
        o.dryRun.skipped(`POST /api/v1/auth/universal-auth/identities/${identityId}/client-secrets`)
        return { clientSecret: '' }
      }
      const r = await call('POST', `/api/v1/auth/universal-auth/identities/${encodeURIComponent(identityId)}/client-secrets`, ClientSecretResult, { body: { description }, label: 'POST /api/v1/auth/universal-auth/identities/{id}/client-secrets' })
      return { clientSecret: r.clientSecret }
    },
    async addIdentityToProject(projectId, identityId, role = 'member') {
      if (o.dryRun) return o.dryRun.skipped(`POST /api/v2/workspace/${projectId}/identity-memberships/${identityId} (role ${role})`)
      await call('POST', `/api/v2/workspace/${encodeURIComponent(projectId)}/identity-memberships/${encodeURIComponent(identityId)}`, MembershipResult, { body: { role }, label: 'POST /api/v2/workspace/{id}/identity-memberships/{identityId}' })
    },
  }
  return client
}
