// A Cloudflare session for one run: the client plus account, zone, tunnel and team domain resolved once and
// cached. Configured IDs and IDs an earlier run remembered are trusted without a request (a configured zone is
// checked against DOMAIN once, then remembered); only what is unknown is discovered from DOMAIN. A remembered ID
// the API answers "not found" for is forgotten and everything rediscovered once; a configured one is a ConfigError.
// Reads only; no env reads (the config is passed in), no file access (the memory is passed in and handed back).
import { ConfigError, FailureError } from '../core/errors.ts'
import type { TransportOptions, Transport } from '../core/http.ts'
import { CloudflareApiError, createCloudflare, type Cloudflare, type Tunnel } from './client.ts'
import { fqdn, type CloudflareConfig } from './config.ts'
import type { Remembered } from './memory.ts'

export interface ZoneRef {
  id: string
  name: string
  accountId: string
}

export interface Session {
  cf: Cloudflare
  config: CloudflareConfig
  account(): Promise<string>
  zone(): Promise<ZoneRef>
  /** the configured tunnel (CLOUDFLARE_TUNNEL_ID, else by CLOUDFLARE_TUNNEL_NAME); undefined when none exists */
  findTunnel(): Promise<Tunnel | undefined>
  /** the configured tunnel, or a FailureError saying how to create it */
  tunnel(): Promise<Tunnel>
  /** the tunnel's ID and name without reading it when the ID is configured or remembered; else tunnel() */
  tunnelRef(): Promise<TunnelRef>
  /** the Access team domain when configured or remembered (no request), else undefined */
  knownAuthDomain(): string | undefined
  /** record the team domain read from the account */
  noteAuthDomain(authDomain: string): void
  /**
   * Runs `read` (which takes its IDs from the session); when it fails with "not found" for an ID the session trusted
   * from memory, forgets every remembered ID, rediscovers and runs it once more. A configured ID → ConfigError.
   */
  fresh<T>(what: Trusted, read: () => Promise<T>): Promise<T>
  /** the IDs to remember after this run (what was resolved; forgotten ones left out) */
  remembered(): Remembered
}

export type Trusted = 'account' | 'zone' | 'tunnel'

export interface TunnelRef {
  id: string
  name: string
}

/** Did the API answer "no such object" (404, or 7003 "could not route": a bad ID in the path)? */
export function isNotFound(err: unknown): boolean {
  return err instanceof CloudflareApiError && (err.status === 404 || err.has(7003, 7000))
}

export interface SessionOptions {
  config: CloudflareConfig
  /** under --dry-run: writes are reported here, not sent */
  dryRun?: { skipped(what: string): void }
  transport?: Transport
  transportOptions?: TransportOptions
  /** IDs an earlier run found (.stackyard/cloudflare.json, read by the caller) */
  remembered?: Remembered
}

export function openSession(o: SessionOptions): Session {
  const { config } = o
  const cf = createCloudflare({
    auth: config.auth,
    baseUrl: config.baseUrl,
    transport: o.transport,
    transportOptions: { maxRetries: 3, maxWaitMs: 60_000, ...o.transportOptions, dryRun: o.dryRun },
  })
  let memory: Remembered = { ...(o.remembered ?? {}) }
  let zone: Promise<ZoneRef> | undefined
  let tunnel: Promise<Tunnel | undefined> | undefined
  let ref: Promise<TunnelRef> | undefined
  let authDomain: string | undefined
  let rediscovered = false
  /** what this run resolved, remembered at the end */
  const found: Remembered = {}

  async function resolveZone(): Promise<ZoneRef> {
    const domain = fqdn(config.domain)
    const contains = (name: string) => domain === name || domain.endsWith(`.${name}`)
    const accountId = config.accountId ?? memory.accountId
    // a zone ID (configured, or remembered) whose name was checked against DOMAIN by an earlier run: trusted
    const zoneId = config.zoneId ?? memory.zoneId
    if (zoneId && memory.zoneId === zoneId && memory.zoneName && contains(memory.zoneName) && accountId)
      return remember({ id: zoneId, name: memory.zoneName, accountId })
    if (config.zoneId) {
      const z = await cf.zone(config.zoneId).catch((err: unknown) => {
        if (isNotFound(err)) throw new ConfigError(`CLOUDFLARE_ZONE_ID ${config.zoneId} is not a zone this token can see`, { field: 'CLOUDFLARE_ZONE_ID', hint: 'fix CLOUDFLARE_ZONE_ID, or unset it to find the zone from DOMAIN' })
        throw err
      })
      const name = fqdn(z.name)
      if (!contains(name))
        throw new ConfigError(`CLOUDFLARE_ZONE_ID is the zone ${z.name}, which does not contain DOMAIN ${domain}`, { field: 'CLOUDFLARE_ZONE_ID', hint: 'fix CLOUDFLARE_ZONE_ID, or unset it to find the zone from DOMAIN' })
      return remember({ id: z.id, name, accountId: z.account.id })
    }
    // DOMAIN may be the zone itself or a name inside it (lab.example.com in the zone example.com)
    const labels = domain.split('.')
    for (let i = 0; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.')
      const zones = (await cf.zonesByName(candidate)).filter((z) => fqdn(z.name) === candidate)
      const pick = zones.find((z) => !config.accountId || z.account.id === config.accountId) ?? (config.accountId ? undefined : zones[0])
      if (pick) return remember({ id: pick.id, name: candidate, accountId: pick.account.id })
      if (zones.length && config.accountId)
        throw new ConfigError(`the zone ${candidate} belongs to another account than CLOUDFLARE_ACCOUNT_ID`, { field: 'CLOUDFLARE_ACCOUNT_ID', hint: 'fix CLOUDFLARE_ACCOUNT_ID, or unset it to take the zone\'s account' })
    }
    throw new ConfigError(`no Cloudflare zone for DOMAIN ${domain} is visible to this token`, {
      field: 'DOMAIN',
      hint: 'check DOMAIN; add the domain to your Cloudflare account; or give the token "Zone · Zone · Read" on it (a token without it sees no zones), or set CLOUDFLARE_ZONE_ID',
    })
  }

  function remember(z: ZoneRef): ZoneRef {
    Object.assign(found, { zoneId: z.id, zoneName: z.name, accountId: config.accountId ?? z.accountId })
    return z
  }

  async function resolveTunnel(): Promise<Tunnel | undefined> {
    const account = await session.account()
    if (config.tunnelId) {
      const t = await cf.tunnel(account, config.tunnelId)
      if (t.deleted_at) throw new FailureError(`tunnel ${config.tunnelId} (CLOUDFLARE_TUNNEL_ID) was deleted`, { hint: 'unset CLOUDFLARE_TUNNEL_ID to use (or create) the tunnel named by CLOUDFLARE_TUNNEL_NAME' })
      found.tunnelId = t.id
      return t
    }
    // a remembered ID is read directly; if it is gone or deleted, the tunnel is looked up by name again
    if (memory.tunnelId) {
      const t = await cf.tunnel(account, memory.tunnelId).catch((err: unknown) => {
        if (isNotFound(err)) return undefined
        throw err
      })
      if (t && !t.deleted_at && t.name === config.tunnelName) {
        found.tunnelId = t.id
        return t
      }
      memory = { ...memory, tunnelId: undefined }
    }
    const matches = (await cf.tunnelsByName(account, config.tunnelName)).filter((t) => t.name === config.tunnelName && !t.deleted_at)
    if (matches.length > 1)
      throw new FailureError(`${matches.length} tunnels are named "${config.tunnelName}" (${matches.map((t) => t.id).join(', ')})`, { hint: 'set CLOUDFLARE_TUNNEL_ID to the one Stackyard should use' })
    if (matches[0]) found.tunnelId = matches[0].id
    return matches[0]
  }

  async function resolveRef(): Promise<TunnelRef> {
    const trusted = config.tunnelId ?? memory.tunnelId
    if (trusted) {
      found.tunnelId = trusted
      return { id: trusted, name: config.tunnelName }
    }
    const t = await session.tunnel()
    return { id: t.id, name: t.name }
  }

  const session: Session = {
    cf,
    config,
    async account() {
      const known = config.accountId ?? memory.accountId
      if (known) {
        found.accountId ??= known
        return known
      }
      return (await session.zone()).accountId
    },
    zone() {
      zone ??= resolveZone()
      return zone
    },
    findTunnel() {
      tunnel ??= resolveTunnel()
      return tunnel
    },
    async tunnel() {
      const t = await session.findTunnel()
      if (!t)
        throw new FailureError(`no tunnel named "${config.tunnelName}" exists in the account`, { hint: 'create it with npx zx tasks/00-infrastructure/cloudflare/tunnel.ts (or set CLOUDFLARE_TUNNEL_ID / CLOUDFLARE_TUNNEL_NAME)' })
      return t
    },
    tunnelRef() {
      ref ??= resolveRef()
      return ref
    },
    knownAuthDomain() {
      return authDomain ?? config.authDomain ?? memory.authDomain
    },
    noteAuthDomain(d) {
      authDomain = d
    },
    async fresh(what, read) {
      try {
        return await read()
      } catch (first) {
        if (!isNotFound(first)) throw first
        let err = first
        // a stale memory (the zone, account or tunnel was recreated, or the token now sees another account): forget
        // all of it, team domain included, and rediscover once
        if (!rediscovered && (memory.accountId || memory.zoneId || memory.tunnelId)) {
          rediscovered = true
          memory = {}
          authDomain = undefined
          for (const k of Object.keys(found) as Array<keyof Remembered>) delete found[k]
          zone = tunnel = ref = undefined
          try {
            return await read()
          } catch (again) {
            if (!isNotFound(again)) throw again
            err = again
          }
        }
        const configured = { account: config.accountId && ['CLOUDFLARE_ACCOUNT_ID', config.accountId], zone: config.zoneId && ['CLOUDFLARE_ZONE_ID', config.zoneId], tunnel: config.tunnelId && ['CLOUDFLARE_TUNNEL_ID', config.tunnelId] }[what]
        if (configured)
          throw new ConfigError(`${configured[0]} ${configured[1]}: Cloudflare answers that it does not exist (${(err as Error).message})`, { field: configured[0], hint: `fix ${configured[0]}, or unset it to find it from DOMAIN / CLOUDFLARE_TUNNEL_NAME` })
        throw err
      }
    },
    remembered() {
      const authDomainNow = authDomain ?? memory.authDomain
      return { ...found, ...(authDomainNow ? { authDomain: authDomainNow } : {}) }
    },
  }
  return session
}
