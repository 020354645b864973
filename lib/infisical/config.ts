// Infisical settings and the sync selection, from env values and the registry handed in: pure (no env reads, no I/O).
// Which keys are synced comes from x-secrets declarations plus INFISICAL_SYNC_INCLUDE, minus INFISICAL_SYNC_EXCLUDE
// and minus the keys that must stay local (below); never from name patterns.
import { ConfigError } from '../core/errors.ts'
import type { Registry } from '../model/registry.ts'
import { ENV_NAME } from '../model/x-fields.ts'
import type { InfisicalScope } from './client.ts'

/** The variables this integration reads to reach Infisical. Stored in Infisical they would lock you out (circular). */
export const CONNECTION_KEYS = ['INFISICAL_API_URL', 'INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID', 'INFISICAL_ENVIRONMENT', 'INFISICAL_SECRET_PATH'] as const
export const INCLUDE_KEY = 'INFISICAL_SYNC_INCLUDE'
export const EXCLUDE_KEY = 'INFISICAL_SYNC_EXCLUDE'
/** The compose profile of the bundled instance: the variables its services use are needed before it can serve them. */
export const INSTANCE_PROFILE = 'infisical'

export interface InfisicalConfig {
  /** where the API is (INFISICAL_API_URL, else INFISICAL_SITE_URL); undefined when neither is set */
  url?: string
  urlSource?: 'INFISICAL_API_URL' | 'INFISICAL_SITE_URL'
  clientId?: string
  clientSecret?: string
  projectId?: string
  environment: string
  secretPath: string
  include: string[]
  exclude: string[]
}

export interface Connection {
  url: string
  clientId: string
  clientSecret: string
  scope: InfisicalScope
}

const ENV_SLUG = /^[a-z0-9][a-z0-9_-]*$/i
const list = (v: string | undefined) => (v ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)

/**
 * The values the integration reads: the layered values, plus any of its own variables set only in the shell (the
 * layered `values` hold only keys some file defines; Compose-style, the shell still wins for those).
 */
export function configValues(env: { values: Record<string, string>; lookup(name: string): string | undefined }): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env.values }
  for (const k of [...CONNECTION_KEYS, INCLUDE_KEY, EXCLUDE_KEY, 'INFISICAL_SITE_URL']) if (out[k] === undefined) out[k] = env.lookup(k)
  return out
}

/** Where the machine identity's credentials and project come from, for messages: ".env", "the shell environment"… */
export function credentialsWhere(env: { sources: Record<string, { kind: string; file?: string }> }): string {
  const where = ['INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'].map((k) => {
    const src = Object.hasOwn(env.sources, k) ? env.sources[k] : undefined
    return !src || src.kind === 'shell' ? 'the shell environment' : src.kind === 'file' && src.file ? src.file : 'the derived values'
  })
  return [...new Set(where)].join(' and ')
}

/** Reads and validates the settings; a bad value is a ConfigError naming the variable. */
export function readInfisicalConfig(values: Record<string, string | undefined>): InfisicalConfig {
  const environment = (values.INFISICAL_ENVIRONMENT ?? '').trim() || 'dev'
  if (!ENV_SLUG.test(environment)) throw new ConfigError(`INFISICAL_ENVIRONMENT: "${environment}" is not an environment slug`, { field: 'INFISICAL_ENVIRONMENT', hint: 'use the slug shown in the project settings, e.g. dev or prod' })
  const secretPath = normalizeSecretPath(values.INFISICAL_SECRET_PATH ?? '/')
  const include = list(values[INCLUDE_KEY])
  const exclude = list(values[EXCLUDE_KEY])
  for (const [name, keys] of [[INCLUDE_KEY, include], [EXCLUDE_KEY, exclude]] as const) {
    const bad = keys.filter((k) => !ENV_NAME.test(k))
    if (bad.length) throw new ConfigError(`${name}: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not a variable name' : 'are not variable names'}`, { field: name, hint: `list exact variable names, separated by commas (no patterns), e.g. ${name}=OPENAI_API_KEY,SMTP_PASSWORD` })
  }
  const apiUrl = values.INFISICAL_API_URL?.trim()
  const siteUrl = values.INFISICAL_SITE_URL?.trim()
  if (apiUrl || siteUrl) checkHttpUrl(apiUrl ? 'INFISICAL_API_URL' : 'INFISICAL_SITE_URL', (apiUrl || siteUrl)!)
  return {
    url: apiUrl || siteUrl || undefined,
    urlSource: apiUrl ? 'INFISICAL_API_URL' : siteUrl ? 'INFISICAL_SITE_URL' : undefined,
    clientId: values.INFISICAL_CLIENT_ID?.trim() || undefined,
    clientSecret: values.INFISICAL_CLIENT_SECRET || undefined,
    projectId: values.INFISICAL_PROJECT_ID?.trim() || undefined,
    environment,
    secretPath,
    include,
    exclude,
  }
}

/** The instance address must be an http(s) URL: anything else is a configuration error (exit 2), found before any request. */
function checkHttpUrl(name: string, url: string): void {
  let protocol: string | undefined
  try {
    protocol = new URL(url).protocol
  } catch {
    protocol = undefined
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new ConfigError(`${name}: "${url}" is not an http(s) URL`, { field: name, hint: `set ${name} to the instance address, e.g. http://localhost:8020 (in .env, or unset it to use the bundled instance)` })
}

/** "/", "/a/b": leading slash, no trailing slash, no empty or dot segments. */
export function normalizeSecretPath(raw: string): string {
  const trimmed = raw.trim() || '/'
  const segments = trimmed.split('/').filter(Boolean)
  if (!trimmed.startsWith('/') || segments.some((s) => s === '.' || s === '..' || !/^[A-Za-z0-9_.-]+$/.test(s)))
    throw new ConfigError(`INFISICAL_SECRET_PATH: "${raw}" is not a folder path`, { field: 'INFISICAL_SECRET_PATH', hint: 'use / for the root or /folder/sub (letters, digits, - _ .)' })
  return '/' + segments.join('/')
}

/** Is everything needed to sync set? */
export function isConfigured(c: InfisicalConfig): boolean {
  return Boolean(c.url && c.clientId && c.clientSecret && c.projectId)
}

/** The connection, or a ConfigError listing every missing variable. */
export function requireConnection(c: InfisicalConfig): Connection {
  const missing = [
    !c.url && 'INFISICAL_API_URL (or INFISICAL_SITE_URL, derived when the infisical route is declared)',
    !c.clientId && 'INFISICAL_CLIENT_ID',
    !c.clientSecret && 'INFISICAL_CLIENT_SECRET',
    !c.projectId && 'INFISICAL_PROJECT_ID',
  ].filter(Boolean) as string[]
  if (missing.length)
    throw new ConfigError(`Infisical is not configured: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`, {
      hint: 'run npx zx tasks/00-infrastructure/infisical/bootstrap.ts, or set them in .env',
    })
  return { url: c.url!, clientId: c.clientId!, clientSecret: c.clientSecret!, scope: { projectId: c.projectId!, environment: c.environment, secretPath: c.secretPath } }
}

export interface Selection {
  /** keys push sends (when .env has them) */
  push: Set<string>
  /** is a remote key pulled / exported? */
  pulls(key: string): boolean
  /** keys kept local by default (and why), unless INFISICAL_SYNC_INCLUDE names them */
  local: Map<string, string>
}

/**
 * The sync selection: declared secrets + INFISICAL_SYNC_INCLUDE − INFISICAL_SYNC_EXCLUDE − keys that stay local.
 * Keys that stay local unless included: the connection variables, and every variable a service of the bundled
 * instance interpolates (its encryption key, auth secret, database password): the instance needs them to start, so
 * they cannot come from it. Pull takes every remote key except excluded and local ones.
 */
export function syncSelection(registry: Pick<Registry, 'secrets' | 'services' | 'variables'>, c: Pick<InfisicalConfig, 'include' | 'exclude'>): Selection {
  const local = new Map<string, string>()
  for (const k of CONNECTION_KEYS) local.set(k, 'connects to Infisical itself')
  const instance = new Set(registry.services.filter((s) => s.profiles.includes(INSTANCE_PROFILE)).map((s) => s.name))
  for (const v of registry.variables) {
    const svc = /^services\.([^.]+)\./.exec(v.path)?.[1]
    if (svc && instance.has(svc) && !local.has(v.name)) local.set(v.name, 'needed to start the bundled Infisical')
  }
  const include = new Set(c.include)
  const exclude = new Set(c.exclude)
  for (const k of include) local.delete(k)
  const push = new Set<string>()
  for (const k of [...registry.secrets.keys(), ...include]) if (!exclude.has(k) && !local.has(k)) push.add(k)
  return { push, pulls: (k) => !exclude.has(k) && !local.has(k), local }
}
