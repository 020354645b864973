// Cloudflare settings and the desired state, from values the caller passes (never reads env or files
// itself): credentials, IDs, tunnel name, Access identities, and the routed hosts derived from the
// registry. Pure functions; errors are ConfigError naming the variable.
import { ConfigError } from '../core/errors.ts'
import type { Registry } from '../model/registry.ts'
import { activeRoutes, routeHost } from '../model/routes.ts'
import type { Settings } from '../model/settings.ts'
import { DEFAULT_API_BASE, type CloudflareAuth } from './client.ts'
import { envNamePart } from '../core/format.ts'

export type Lookup = (name: string) => string | undefined

export interface CloudflareConfig {
  auth: CloudflareAuth
  baseUrl: string
  domain: string
  accountId?: string
  zoneId?: string
  tunnelId?: string
  tunnelName: string
  /** the Access team domain (CLOUDFLARE_AUTH_DOMAIN, which the access task records), e.g. team.cloudflareaccess.com */
  authDomain?: string
  access: {
    emails: string[]
    emailDomain?: string
    idpId?: string
  }
}

const HEX32 = /^[0-9a-f]{32}$/i
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/
const HOSTNAME = /^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/

/** The default tunnel name: one tunnel per installation (two machines sharing a tunnel would split its traffic). */
export function defaultTunnelName(domain: string): string {
  return `stackyard-${domain}`
}

export function readCloudflareConfig(get: Lookup, settings: Pick<Settings, 'domain'>): CloudflareConfig {
  const v = (k: string) => get(k)?.trim() || undefined
  const domain = settings.domain
  if (!domain)
    throw new ConfigError('DOMAIN is not set: Cloudflare hostnames are <subdomain>.<DOMAIN>', { hint: 'set DOMAIN=example.com in .env (the zone must be on Cloudflare)' })
  const token = v('CLOUDFLARE_API_TOKEN')
  const email = v('CLOUDFLARE_EMAIL')
  const key = v('CLOUDFLARE_API_KEY')
  let auth: CloudflareAuth
  if (token) auth = { token }
  else if (email && key) auth = { email, key }
  else
    throw new ConfigError(`no Cloudflare credentials: set CLOUDFLARE_API_TOKEN${email || key ? ` (or both CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY; ${email ? 'CLOUDFLARE_API_KEY' : 'CLOUDFLARE_EMAIL'} is missing)` : ''}`, {
      field: 'CLOUDFLARE_API_TOKEN',
      hint: 'create an API token (dash.cloudflare.com → My Profile → API Tokens) with Cloudflare Tunnel, Access apps and policies, DNS edit and Zone settings read; put it in .env',
    })
  const baseUrl = v('CLOUDFLARE_API_BASE_URL') ?? DEFAULT_API_BASE
  if (!/^https?:\/\/[^\s/]+/.test(baseUrl))
    throw new ConfigError(`CLOUDFLARE_API_BASE_URL: "${baseUrl}" is not an http(s) URL`, { field: 'CLOUDFLARE_API_BASE_URL', hint: `leave it unset for ${DEFAULT_API_BASE}` })
  const id = (name: string, re: RegExp, what: string) => {
    const value = v(name)
    if (value !== undefined && !re.test(value)) throw new ConfigError(`${name}: "${value}" is not ${what}`, { field: name, hint: `copy it from the dashboard, or unset ${name} to find it from DOMAIN` })
    return value?.toLowerCase()
  }
  const emails = (v('CLOUDFLARE_ACCESS_EMAILS') ?? '').split(/[\s,]+/).filter(Boolean).map((e) => e.toLowerCase())
  for (const e of emails)
    if (!EMAIL.test(e)) throw new ConfigError(`CLOUDFLARE_ACCESS_EMAILS: "${e}" is not an email address`, { field: 'CLOUDFLARE_ACCESS_EMAILS', hint: 'a comma-separated list, e.g. you@example.com,ops@example.com' })
  const emailDomain = v('CLOUDFLARE_ACCESS_EMAIL_DOMAIN')?.toLowerCase().replace(/^@/, '')
  if (emailDomain && !HOSTNAME.test(emailDomain))
    throw new ConfigError(`CLOUDFLARE_ACCESS_EMAIL_DOMAIN: "${emailDomain}" is not a domain`, { field: 'CLOUDFLARE_ACCESS_EMAIL_DOMAIN', hint: 'the domain part of the addresses to let in, e.g. example.com' })
  const authDomain = v('CLOUDFLARE_AUTH_DOMAIN')?.toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  if (authDomain !== undefined && !HOSTNAME.test(authDomain))
    throw new ConfigError(`CLOUDFLARE_AUTH_DOMAIN: "${authDomain}" is not a domain`, { field: 'CLOUDFLARE_AUTH_DOMAIN', hint: 'the Zero Trust team domain, e.g. myteam.cloudflareaccess.com; unset it to read it from the account' })
  return {
    auth,
    baseUrl,
    domain,
    accountId: id('CLOUDFLARE_ACCOUNT_ID', HEX32, 'a Cloudflare account ID (32 hex characters)'),
    zoneId: id('CLOUDFLARE_ZONE_ID', HEX32, 'a Cloudflare zone ID (32 hex characters)'),
    tunnelId: id('CLOUDFLARE_TUNNEL_ID', UUID, 'a tunnel ID (a UUID)'),
    tunnelName: v('CLOUDFLARE_TUNNEL_NAME') ?? defaultTunnelName(domain),
    authDomain,
    access: { emails: [...new Set(emails)], emailDomain, idpId: v('CLOUDFLARE_ACCESS_IDP_ID') },
  }
}

export type AccessLevel = 'protected' | 'public' | 'bypass'

/** One hostname Stackyard routes through the tunnel. */
export interface DesiredHost {
  host: string
  service: string
  stack: string
  access: AccessLevel
  /** .env key receiving the Access application's AUD (protected routes), from the subdomain: N8N_ACCESS_AUD
   * (the subdomain, not the service name, so hardware variants of one service share it) */
  audEnv: string
}

export interface Desired {
  domain: string
  /** the proxy every tunnel hostname goes to, e.g. http://caddy:80 (from the registry's x-proxy service) */
  proxyUrl: string
  hosts: DesiredHost[]
}

export function audEnvName(subdomain: string): string {
  return `${envNamePart(subdomain)}_ACCESS_AUD`
}

/** The proxy's URL inside the shared network: its service name and the first port it exposes (default 80). */
export function proxyUrl(registry: Pick<Registry, 'proxy'>): string {
  const proxy = registry.proxy
  if (!proxy) throw new ConfigError('no service is marked x-proxy: true, so the tunnel has nowhere to send traffic', { hint: 'mark the Caddy service with x-proxy: true in its compose file' })
  const expose = Array.isArray(proxy.raw.expose) ? proxy.raw.expose.map(String) : []
  const port = expose.map((e) => /^(\d+)/.exec(e)?.[1]).find(Boolean) ?? '80'
  return `http://${proxy.name}:${port}`
}

/** Every route of a service that will run, as a tunnel hostname. */
export function desiredHosts(registry: Registry, settings: Settings, values: Record<string, string | undefined>): Desired {
  if (!settings.domain) throw new ConfigError('DOMAIN is not set', { hint: 'set DOMAIN=example.com in .env' })
  const seen = new Set<string>()
  const hosts: DesiredHost[] = []
  for (const r of activeRoutes(registry, settings, values)) {
    const host = routeHost(r, settings)!
    if (seen.has(host)) throw new ConfigError(`two routes use the hostname ${host}`, { hint: 'give each x-route its own subdomain' })
    seen.add(host)
    hosts.push({ host, service: r.service, stack: r.stack, access: r.access, audEnv: audEnvName(r.subdomain) })
  }
  return { domain: settings.domain, proxyUrl: proxyUrl(registry), hosts }
}

/** Lower-case FQDN without a trailing dot: how names are compared. */
export function fqdn(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '')
}

/** Is `host` the domain itself or under it? */
export function underDomain(host: string, domain: string): boolean {
  const h = fqdn(host)
  const d = fqdn(domain)
  return h === d || h.endsWith(`.${d}`)
}
