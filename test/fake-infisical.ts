// Test helper: a loopback fake Infisical that follows the real Infisical API (https://infisical.com/docs/api-reference): v3 raw and v3 batch raw
// secrets, folders, universal-auth login, admin config and bootstrap, the calls that set up a machine identity; the
// server's value trimming, batch all-or-nothing with the 2024 messages, secret-reference expansion, the two
// status-code conventions, a per-minute limit per route with the rate-limit headers, token expiry (a JWT
// past its exp: 500 on a 2024 build), approval mode, and Fastify's 1 MiB body limit (413).
// Built on test/helpers/http-server.ts (fault injection: fake.server.inject). Never used by product code.
import { randomBytes } from 'node:crypto'
import { startFakeServer, type FakeServer, type RecordedRequest, type Reply, type Route } from './helpers/http-server.ts'

export type Convention = '2024' | 'upstream'

export interface FakeInfisicalOptions {
  /** status-code convention and features: '2024' (no bootstrap, 401/403 swapped, 403 validation) or 'upstream' */
  convention?: Convention
  /** POST /api/v1/admin/bootstrap exists (default: upstream only) */
  bootstrap?: boolean
  /** an admin exists already (default: true when the default identity is created) */
  initialized?: boolean
  /** create the default project and machine identity (default true) */
  seedIdentity?: boolean
  /** requests per window on each secrets route: the list and each batch verb count separately (default: unlimited;
   *  a 2024 build: 40) */
  rateLimit?: number
  /** requests per window on each folder route (default: rateLimit; a 2024 build: 60) */
  folderRateLimit?: number
  /** window length (default 60 s) */
  windowMs?: number
  /** token TTL in seconds (default 30 days) */
  tokenTtl?: number
  /** writes return {approval} and change nothing */
  approval?: boolean
  /** GET /api/status answers 503 */
  unhealthy?: boolean
}

export interface FakeSecret {
  id: string
  key: string
  value: string
  version: number
  createdAt: string
  updatedAt: string
}

interface Project {
  id: string
  name: string
  slug: string
  orgId: string
  envs: Map<string, string>
  folders: Set<string>
  secrets: Map<string, Map<string, FakeSecret>>
  members: Map<string, string>
}

interface Identity {
  id: string
  orgId: string
  name: string
  clientId?: string
  clientSecrets: Set<string>
  admin: boolean
}

export interface FakeInfisical {
  url: string
  server: FakeServer
  options: Required<Omit<FakeInfisicalOptions, 'rateLimit' | 'folderRateLimit'>> & { rateLimit?: number; folderRateLimit?: number }
  /** the default project, environment and machine identity */
  projectId: string
  clientId: string
  clientSecret: string
  /** secrets of one folder as key → value */
  secrets(env?: string, path?: string, projectId?: string): Record<string, string>
  /** full records, for version checks */
  records(env?: string, path?: string, projectId?: string): FakeSecret[]
  /** set secrets directly (as if written through the UI: trimmed like any write) */
  seed(values: Record<string, string>, env?: string, path?: string, projectId?: string): void
  addFolder(path: string, env?: string, projectId?: string): void
  /** every issued token stops working (as after a revoke) */
  revokeTokens(): void
  /** every issued token is past its TTL */
  expireTokens(): void
  /** requests to the secrets API that write (POST/PATCH/DELETE under /api/v3/secrets) */
  writes(): RecordedRequest[]
  /** number of requests so far (optionally only those matching) */
  count(match?: (r: RecordedRequest) => boolean): number
  identities(): Array<{ id: string; name: string; clientId?: string; projects: string[] }>
  readonly initialized: boolean
  close(): Promise<void>
}

/** What the server stores for a written value. */
export function trimLikeInfisical(v: string): string {
  return v.endsWith('\n') ? v.trim() + '\n' : v.trim()
}

export async function startFakeInfisical(opts: FakeInfisicalOptions = {}): Promise<FakeInfisical> {
  const convention = opts.convention ?? '2024'
  const options = {
    convention,
    bootstrap: opts.bootstrap ?? convention === 'upstream',
    initialized: opts.initialized ?? opts.seedIdentity !== false,
    seedIdentity: opts.seedIdentity ?? true,
    rateLimit: opts.rateLimit,
    folderRateLimit: opts.folderRateLimit ?? opts.rateLimit,
    windowMs: opts.windowMs ?? 60_000,
    tokenTtl: opts.tokenTtl ?? 2_592_000,
    approval: opts.approval ?? false,
    unhealthy: opts.unhealthy ?? false,
  }
  let seq = 0
  const id = (prefix: string) => `${prefix}-${++seq}`
  const now = () => new Date().toISOString()
  const orgs = new Map<string, { name: string; slug: string }>()
  const projects = new Map<string, Project>()
  const identities = new Map<string, Identity>()
  const clients = new Map<string, string>()
  const tokens = new Map<string, { identityId: string; expiresAt: number }>()
  const windows = new Map<string, { start: number; used: number }>()

  const newProject = (name: string, orgId: string, projectId = id('proj')): Project => {
    const p: Project = { id: projectId, name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), orgId, envs: new Map([['dev', 'Development'], ['staging', 'Staging'], ['prod', 'Production']]), folders: new Set(), secrets: new Map(), members: new Map() }
    for (const e of p.envs.keys()) p.folders.add(`${e}:/`)
    projects.set(p.id, p)
    return p
  }

  // ---- errors in the two conventions ----
  const body = (status: number, error: string, message: unknown) => ({ status, body: convention === 'upstream' ? { reqId: `req-${randomBytes(4).toString('hex')}`, statusCode: status, message, error } : { statusCode: status, message, error } })
  const unauthorized = (message: string) => body(convention === '2024' ? 403 : 401, 'UnauthorizedError', message)
  const permissionDenied = (message = 'You are not allowed to access this resource') => body(convention === '2024' ? 401 : 403, 'PermissionDenied', message)
  const validation = (issues: Array<{ path: string[]; message: string }>) => body(convention === '2024' ? 403 : 422, 'ValidationFailure', issues.map((i) => ({ code: 'invalid_type', ...i })))
  const badRequest = (message: string) => body(400, 'BadRequest', message)
  const notFound = (message: string) => body(404, 'NotFound', message)
  const folderMissing = (env: string, path: string) =>
    convention === '2024' ? badRequest('Folder not found for the given environment slug & secret path') : notFound(`Folder with path '${path}' in environment with slug '${env}' not found`)

  // ---- auth ----
  const authed = (req: RecordedRequest): Identity | Reply => {
    const h = String(req.headers.authorization ?? '')
    const token = h.startsWith('Bearer ') ? h.slice(7) : ''
    if (!token) return unauthorized('Missing Authorization Header in the request header.')
    if (!token.startsWith('fake.')) return convention === '2024' ? { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'jwt malformed' } } : body(403, 'TokenError', 'Invalid token')
    const t = tokens.get(token)
    if (!t) return unauthorized('Failed to authorize: token revoked')
    // the token's TTL is also its JWT's exp (accessTokenMaxTTL = expiresIn): the JWT check fails first
    if (t.expiresAt <= Date.now()) return convention === '2024' ? { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'jwt expired' } } : body(403, 'TokenError', 'Token expired')
    return identities.get(t.identityId)!
  }
  const isReply = (x: unknown): x is Reply => typeof x === 'object' && x !== null && 'status' in x
  const issue = (identityId: string) => {
    const token = `fake.${randomBytes(12).toString('hex')}`
    tokens.set(token, { identityId, expiresAt: Date.now() + options.tokenTtl * 1000 })
    return token
  }

  // ---- rate limit per route on secrets and folder routes: each route has its own window ----
  const limited = (route: string, handler: Route['handler'], kind: 'secrets' | 'folders' = 'secrets'): Route['handler'] => async (req, params) => {
    const limit = kind === 'folders' ? options.folderRateLimit : options.rateLimit
    if (limit === undefined) return handler(req, params)
    const t = Date.now()
    let window = windows.get(route)
    if (!window || t - window.start >= options.windowMs) windows.set(route, (window = { start: t, used: 0 }))
    const reset = Math.max(1, Math.ceil((window.start + options.windowMs - t) / 1000))
    if (window.used >= limit)
      return {
        status: 429,
        headers: { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), 'retry-after': String(reset) },
        body: { statusCode: 429, error: 'Too Many Requests', message: convention === '2024' ? 'Rate limit exceeded, retry in 1 minute' : `Rate limit exceeded. Please try again in ${reset} seconds` },
      }
    window.used++
    const reply = await handler(req, params)
    return { ...reply, headers: { ...reply.headers, 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(limit - window.used), 'x-ratelimit-reset': String(reset) } }
  }

  // ---- scope resolution shared by the secrets routes ----
  interface Resolved {
    project: Project
    env: string
    path: string
    folder?: Map<string, FakeSecret>
  }
  const normPath = (p: unknown) => {
    const s = typeof p === 'string' && p.trim() ? p.trim() : '/'
    const segs = s.split('/').filter(Boolean)
    return '/' + segs.join('/')
  }
  const resolve = (who: Identity, projectId: unknown, env: unknown, path: unknown, write: boolean): Resolved | Reply => {
    const project = projects.get(String(projectId ?? ''))
    if (!project) return notFound(`Project with ID '${String(projectId)}' not found`)
    const role = project.members.get(who.id)
    if (!role || role === 'no-access') return permissionDenied(`You are not allowed to ${write ? 'edit' : 'read'} secrets in project ${project.id}`)
    const e = String(env ?? '')
    const p = normPath(path)
    const folderKey = `${e}:${p}`
    if (!project.folders.has(folderKey)) return { project, env: e, path: p }
    let folder = project.secrets.get(folderKey)
    if (!folder) project.secrets.set(folderKey, (folder = new Map()))
    return { project, env: e, path: p, folder }
  }
  const secretJson = (s: FakeSecret, r: Resolved, value = s.value) => ({
    id: s.id,
    _id: s.id,
    workspace: r.project.id,
    environment: r.env,
    version: s.version,
    type: 'shared',
    secretKey: s.key,
    secretValue: value,
    secretComment: '',
    secretPath: r.path,
    tags: [],
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    ...(convention === 'upstream' ? { secretValueHidden: false, secretMetadata: [] } : {}),
  })

  /** ${KEY}, ${env.KEY}, ${env.a.b.KEY}; unresolved → "" (the 2024 behaviour); depth 10. */
  const expand = (project: Project, env: string, path: string, value: string, depth = 0): string =>
    value.replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
      if (depth >= 10) return ''
      const parts = ref.split('.')
      let targetEnv = env
      let targetPath = path
      let key = ref
      if (parts.length > 1) {
        targetEnv = parts[0]
        key = parts[parts.length - 1]
        targetPath = '/' + parts.slice(1, -1).join('/')
      }
      const hit = project.secrets.get(`${targetEnv}:${normPath(targetPath)}`)?.get(key)
      return hit ? expand(project, targetEnv, normPath(targetPath), hit.value, depth + 1) : ''
    })

  type Body = Record<string, unknown>
  const items = (b: Body) => (Array.isArray(b.secrets) ? (b.secrets as Body[]) : undefined)
  const checkBatch = (b: Body, needValue: boolean): Reply | undefined => {
    const list = items(b)
    const issues: Array<{ path: string[]; message: string }> = []
    if (typeof b.workspaceId !== 'string' && typeof b.projectSlug !== 'string') issues.push({ path: ['workspaceId'], message: 'Required' })
    if (typeof b.environment !== 'string') issues.push({ path: ['environment'], message: 'Required' })
    if (!list || list.length === 0) issues.push({ path: ['secrets'], message: 'Array must contain at least 1 element(s)' })
    list?.forEach((s, i) => {
      if (typeof s.secretKey !== 'string' || !s.secretKey.trim()) issues.push({ path: ['secrets', String(i), 'secretKey'], message: 'Required' })
      if (needValue && typeof s.secretValue !== 'string') issues.push({ path: ['secrets', String(i), 'secretValue'], message: 'Expected string' })
    })
    return issues.length ? validation(issues) : undefined
  }
  const approvalReply = (r: Resolved, op: string) => ({ status: 200, body: { approval: { id: id('approval'), policyId: 'policy-1', status: 'open', op, projectId: r.project.id, environment: r.env, secretPath: r.path } } })

  const batchRoute = (method: 'POST' | 'PATCH' | 'DELETE'): Route => ({
    method,
    path: '/api/v3/secrets/batch/raw',
    handler: limited(`${method} batch`, (req) => {
      const who = authed(req)
      if (isReply(who)) return who
      const b = (req.body ?? {}) as Body
      const bad = checkBatch(b, method !== 'DELETE')
      if (bad) return bad
      const r = resolve(who, b.workspaceId, b.environment, b.secretPath, true)
      if (isReply(r)) return r
      if (!r.folder) return folderMissing(r.env, r.path)
      const list = items(b)!.map((s) => ({ key: String(s.secretKey).trim(), value: typeof s.secretValue === 'string' ? s.secretValue : '' }))
      const found = list.filter((s) => r.folder!.has(s.key)).map((s) => s.key)
      if (method === 'POST' && found.length) return badRequest(`Secret already exist: ${found.join(',')}`)
      // the 2024 message lists the keys that WERE found
      if (method !== 'POST' && found.length !== list.length) return badRequest(`Secret not exist: ${found.join(',')}`)
      if (options.approval) return approvalReply(r, method)
      const out = []
      const t = now()
      for (const s of list) {
        if (method === 'DELETE') {
          out.push(secretJson(r.folder.get(s.key)!, r))
          r.folder.delete(s.key)
          continue
        }
        const prev = r.folder.get(s.key)
        const rec: FakeSecret = prev
          ? { ...prev, value: trimLikeInfisical(s.value), version: prev.version + 1, updatedAt: t }
          : { id: id('sec'), key: s.key, value: trimLikeInfisical(s.value), version: 1, createdAt: t, updatedAt: t }
        r.folder.set(s.key, rec)
        out.push(secretJson(rec, r))
      }
      return { status: 200, body: { secrets: out } }
    }),
  })

  const single = (method: 'POST' | 'PATCH' | 'DELETE'): Route => ({
    method,
    path: '/api/v3/secrets/raw/:name',
    handler: limited(`${method} single`, (req, params) => {
      const who = authed(req)
      if (isReply(who)) return who
      const b = (req.body ?? {}) as Body
      if (typeof b.workspaceId !== 'string' || typeof b.environment !== 'string' || (method !== 'DELETE' && typeof b.secretValue !== 'string'))
        return validation([{ path: ['workspaceId'], message: 'Required' }])
      const r = resolve(who, b.workspaceId, b.environment, b.secretPath, true)
      if (isReply(r)) return r
      if (!r.folder) return folderMissing(r.env, r.path)
      const key = params.name
      const prev = r.folder.get(key)
      if (method === 'POST' && prev) return badRequest('Secret already exist')
      if (method === 'PATCH' && !prev) return convention === '2024' ? badRequest('Secret not found') : notFound(`Secret with name '${key}' not found`)
      if (method === 'DELETE' && !prev) return notFound(`Secret with name '${key}' not found`)
      if (options.approval) return approvalReply(r, method)
      const t = now()
      if (method === 'DELETE') {
        r.folder.delete(key)
        return { status: 200, body: { secret: secretJson(prev!, r) } }
      }
      const value = trimLikeInfisical(String(b.secretValue))
      const rec: FakeSecret = prev ? { ...prev, value, version: prev.version + 1, updatedAt: t } : { id: id('sec'), key, value, version: 1, createdAt: t, updatedAt: t }
      r.folder.set(key, rec)
      return { status: 200, body: { secret: secretJson(rec, r) } }
    }),
  })

  const needAdmin = (req: RecordedRequest): Identity | Reply => {
    const who = authed(req)
    if (isReply(who)) return who
    return who.admin ? who : permissionDenied('You are not allowed to perform this action in the organization')
  }

  const notFoundRoute = (method: string): Route => ({
    method,
    path: '/api/.*',
    handler: (req) =>
      convention === '2024'
        ? { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!DOCTYPE html><html><head><title>404: This page could not be found</title></head><body><div id="__next">404</div></body></html>' }
        : body(404, 'Not Found', `Route ${method}:${req.path} not found`),
  })

  const routes: Route[] = [
    { method: 'GET', path: '/api/status', handler: () => (options.unhealthy ? { status: 503, body: { date: now(), message: 'Service unavailable' } } : { status: 200, body: { date: now(), message: 'Ok', emailConfigured: false, inviteOnlySignup: false, redisConfigured: true, secretScanningConfigured: false } }) },
    { method: 'GET', path: '/api/v1/admin/config', handler: () => ({ status: 200, body: { config: { initialized: options.initialized, allowSignUp: true, allowedSignUpDomain: null, trustSamlEmails: false } } }) },
    {
      method: 'POST',
      path: '/api/v1/admin/bootstrap',
      handler: (req) => {
        if (!options.bootstrap) return notFoundRoute('POST').handler(req, {})
        const b = (req.body ?? {}) as Body
        const issues = ['email', 'password', 'organization'].filter((k) => typeof b[k] !== 'string' || !(b[k] as string).trim()).map((k) => ({ path: [k], message: 'Required' }))
        if (typeof b.email === 'string' && !b.email.includes('@')) issues.push({ path: ['email'], message: 'Invalid email' })
        if (issues.length) return validation(issues)
        if (options.initialized) return badRequest('Instance has already been set up')
        options.initialized = true
        const orgId = id('org')
        orgs.set(orgId, { name: String(b.organization), slug: String(b.organization).toLowerCase().replace(/[^a-z0-9]+/g, '-') })
        const admin: Identity = { id: id('identity'), orgId, name: 'Instance Admin Identity', clientSecrets: new Set(), admin: true }
        identities.set(admin.id, admin)
        return {
          status: 200,
          body: {
            message: 'Successfully bootstrapped instance',
            user: { id: id('user'), email: b.email, superAdmin: true },
            organization: { id: orgId, name: b.organization, slug: orgs.get(orgId)!.slug },
            identity: { id: admin.id, name: admin.name, credentials: { token: issue(admin.id) } },
          },
        }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/auth/universal-auth/login',
      handler: (req) => {
        const b = (req.body ?? {}) as Body
        if (typeof b.clientId !== 'string' || typeof b.clientSecret !== 'string') return validation([{ path: ['clientId'], message: 'Required' }])
        const identityId = clients.get(b.clientId.trim())
        const who = identityId ? identities.get(identityId) : undefined
        if (!who || !who.clientSecrets.has(b.clientSecret.trim())) return unauthorized('Invalid credentials')
        return { status: 200, body: { accessToken: issue(who.id), expiresIn: options.tokenTtl, accessTokenMaxTTL: options.tokenTtl, tokenType: 'Bearer' } }
      },
    },
    {
      method: 'GET',
      path: '/api/v3/secrets/raw',
      handler: limited('GET list', (req) => {
        const who = authed(req)
        if (isReply(who)) return who
        const q = req.query
        const r = resolve(who, q.get('workspaceId'), q.get('environment'), q.get('secretPath'), false)
        if (isReply(r)) return r
        if (!r.folder) {
          if (convention === '2024') return { status: 200, body: { secrets: [], imports: [] } }
          return notFound(`Folder with path '${r.path}' in environment '${r.env}' was not found. Please ensure the environment slug and secret path is correct.`)
        }
        const expandRefs = q.get('expandSecretReferences') === 'true'
        const list = [...r.folder.values()].map((s) => secretJson(s, r, expandRefs ? expand(r.project, r.env, r.path, s.value) : s.value))
        return { status: 200, body: { secrets: list, imports: [] } }
      }),
    },
    batchRoute('POST'),
    batchRoute('PATCH'),
    batchRoute('DELETE'),
    single('POST'),
    single('PATCH'),
    single('DELETE'),
    {
      method: 'GET',
      path: '/api/v1/folders',
      handler: limited('GET folders', (req) => {
        const who = authed(req)
        if (isReply(who)) return who
        const q = req.query
        const project = projects.get(String(q.get('workspaceId')))
        if (!project) return notFound(`Project with ID '${q.get('workspaceId')}' not found`)
        if (!project.members.has(who.id)) return permissionDenied()
        const env = String(q.get('environment'))
        if (!project.envs.has(env)) return notFound(`Environment with slug '${env}' in project with ID '${project.id}' not found`)
        const parent = normPath(q.get('path') ?? q.get('directory'))
        const prefix = parent === '/' ? '/' : parent + '/'
        const folders = [...project.folders]
          .filter((f) => f.startsWith(`${env}:${prefix}`) && f !== `${env}:/`)
          .map((f) => f.slice(env.length + 1 + prefix.length))
          .filter((rest) => rest && !rest.includes('/'))
          .map((name) => ({ id: id('folder'), name, version: 1 }))
        return { status: 200, body: { folders } }
      }, 'folders'),
    },
    {
      method: 'POST',
      path: '/api/v1/folders',
      handler: limited('POST folders', (req) => {
        const who = authed(req)
        if (isReply(who)) return who
        const b = (req.body ?? {}) as Body
        if (typeof b.name !== 'string' || typeof b.environment !== 'string') return validation([{ path: ['name'], message: 'Required' }])
        const project = projects.get(String(b.workspaceId))
        if (!project) return notFound(`Project with ID '${String(b.workspaceId)}' not found`)
        if (!project.members.has(who.id)) return permissionDenied()
        if (!project.envs.has(b.environment)) return notFound(`Environment with slug '${b.environment}' in project with ID '${project.id}' not found`)
        const parent = normPath(b.path)
        if (!project.folders.has(`${b.environment}:${parent}`)) return folderMissing(b.environment, parent)
        const full = parent === '/' ? `/${b.name}` : `${parent}/${b.name}`
        if (project.folders.has(`${b.environment}:${full}`)) return badRequest(`Folder with name '${b.name}' already exists`)
        project.folders.add(`${b.environment}:${full}`)
        return { status: 200, body: { folder: { id: id('folder'), name: b.name, version: 1 } } }
      }, 'folders'),
    },
    {
      method: 'POST',
      path: '/api/v2/workspace',
      handler: (req) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const b = (req.body ?? {}) as Body
        if (typeof b.projectName !== 'string' || !b.projectName.trim()) return validation([{ path: ['projectName'], message: 'Required' }])
        const p = newProject(b.projectName.trim(), who.orgId)
        p.members.set(who.id, 'admin')
        return { status: 200, body: { project: { id: p.id, _id: p.id, name: p.name, slug: p.slug, orgId: p.orgId, environments: [...p.envs].map(([slug, name]) => ({ id: id('env'), name, slug })) } } }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/workspace/:projectId/environments',
      handler: (req, params) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const p = projects.get(params.projectId)
        if (!p) return notFound(`Project with ID '${params.projectId}' not found`)
        const b = (req.body ?? {}) as Body
        if (typeof b.slug !== 'string' || typeof b.name !== 'string') return validation([{ path: ['slug'], message: 'Required' }])
        if (p.envs.has(b.slug)) return badRequest('Environment with slug already exist')
        p.envs.set(b.slug, b.name)
        p.folders.add(`${b.slug}:/`)
        return { status: 200, body: { message: 'Successfully created new environment', workspace: p.id, environment: { id: id('env'), name: b.name, slug: b.slug } } }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/identities',
      handler: (req) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const b = (req.body ?? {}) as Body
        if (typeof b.name !== 'string' || typeof b.organizationId !== 'string') return validation([{ path: ['name'], message: 'Required' }])
        const ident: Identity = { id: id('identity'), orgId: b.organizationId, name: b.name, clientSecrets: new Set(), admin: false }
        identities.set(ident.id, ident)
        return { status: 200, body: { identity: { id: ident.id, name: ident.name, authMethods: [] } } }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/auth/universal-auth/identities/:identityId',
      handler: (req, params) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const ident = identities.get(params.identityId)
        if (!ident) return notFound(`Identity with ID ${params.identityId} not found`)
        if (ident.clientId) return badRequest('Failed to add universal auth to already configured identity')
        ident.clientId = `client-${randomBytes(6).toString('hex')}`
        clients.set(ident.clientId, ident.id)
        return { status: 200, body: { identityUniversalAuth: { id: id('ua'), clientId: ident.clientId, identityId: ident.id, accessTokenTTL: 2592000, accessTokenMaxTTL: 2592000 } } }
      },
    },
    {
      method: 'GET',
      path: '/api/v1/auth/universal-auth/identities/:identityId',
      handler: (req, params) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const ident = identities.get(params.identityId)
        if (!ident?.clientId) return notFound(`Failed to find universal auth for identity ${params.identityId}`)
        return { status: 200, body: { identityUniversalAuth: { id: id('ua'), clientId: ident.clientId, identityId: ident.id, accessTokenTTL: 2592000, accessTokenMaxTTL: 2592000 } } }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/auth/universal-auth/identities/:identityId/client-secrets',
      handler: (req, params) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const ident = identities.get(params.identityId)
        if (!ident?.clientId) return notFound(`Failed to find universal auth for identity ${params.identityId}`)
        const secret = randomBytes(24).toString('hex')
        ident.clientSecrets.add(secret)
        return { status: 200, body: { clientSecret: secret, clientSecretData: { id: id('cs'), clientSecretPrefix: secret.slice(0, 4), description: (req.body as Body)?.description ?? '' } } }
      },
    },
    {
      method: 'POST',
      path: '/api/v2/workspace/:projectId/identity-memberships/:identityId',
      handler: (req, params) => {
        const who = needAdmin(req)
        if (isReply(who)) return who
        const p = projects.get(params.projectId)
        if (!p) return notFound(`Project with ID '${params.projectId}' not found`)
        if (!identities.has(params.identityId)) return notFound(`Identity with ID ${params.identityId} not found`)
        const role = typeof (req.body as Body)?.role === 'string' ? String((req.body as Body).role) : 'no-access'
        p.members.set(params.identityId, role)
        return { status: 200, body: { identityMembership: { id: id('membership'), identityId: params.identityId, projectId: p.id, role } } }
      },
    },
    notFoundRoute('GET'),
    notFoundRoute('POST'),
    notFoundRoute('PATCH'),
    notFoundRoute('DELETE'),
  ]

  // Fastify's default bodyLimit, which Infisical keeps: a larger body is refused before any route sees it
  const server = await startFakeServer(routes, { bodyLimit: 1024 * 1024 })

  let projectId = ''
  let clientId = ''
  let clientSecret = ''
  if (options.seedIdentity) {
    const orgId = id('org')
    orgs.set(orgId, { name: 'Stackyard', slug: 'stackyard' })
    const p = newProject('stackyard', orgId, 'proj-1')
    const ident: Identity = { id: id('identity'), orgId, name: 'stackyard-sync', clientId: 'client-1', clientSecrets: new Set(['secret-1']), admin: false }
    identities.set(ident.id, ident)
    clients.set('client-1', ident.id)
    p.members.set(ident.id, 'member')
    projectId = p.id
    clientId = 'client-1'
    clientSecret = 'secret-1'
  }

  const folderOf = (env: string, path: string, pid: string) => {
    const p = projects.get(pid)
    if (!p) throw new Error(`no project ${pid}`)
    const key = `${env}:${normPath(path)}`
    if (!p.folders.has(key)) throw new Error(`no folder ${key}`)
    let f = p.secrets.get(key)
    if (!f) p.secrets.set(key, (f = new Map()))
    return f
  }

  return {
    url: server.url,
    server,
    options,
    projectId,
    clientId,
    clientSecret,
    secrets: (env = 'dev', path = '/', pid = projectId) => Object.fromEntries([...folderOf(env, path, pid).values()].sort((a, b) => a.key.localeCompare(b.key)).map((s) => [s.key, s.value])),
    records: (env = 'dev', path = '/', pid = projectId) => [...folderOf(env, path, pid).values()],
    seed(values, env = 'dev', path = '/', pid = projectId) {
      const f = folderOf(env, path, pid)
      const t = now()
      for (const [k, v] of Object.entries(values)) {
        const prev = f.get(k)
        f.set(k, prev ? { ...prev, value: trimLikeInfisical(v), version: prev.version + 1, updatedAt: t } : { id: id('sec'), key: k, value: trimLikeInfisical(v), version: 1, createdAt: t, updatedAt: t })
      }
    },
    addFolder(path, env = 'dev', pid = projectId) {
      const p = projects.get(pid)!
      const segs = path.split('/').filter(Boolean)
      for (let i = 1; i <= segs.length; i++) p.folders.add(`${env}:/${segs.slice(0, i).join('/')}`)
    },
    revokeTokens: () => tokens.clear(),
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = Date.now() - 1
    },
    writes: () => server.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/v3/secrets')),
    count: (match) => (match ? server.requests.filter(match).length : server.requests.length),
    identities: () =>
      [...identities.values()].filter((i) => !i.admin).map((i) => ({ id: i.id, name: i.name, clientId: i.clientId, projects: [...projects.values()].filter((p) => p.members.has(i.id)).map((p) => p.id) })),
    get initialized() {
      return options.initialized
    },
    close: () => server.close(),
  }
}
