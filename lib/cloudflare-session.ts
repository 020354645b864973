// A Cloudflare session for one run: the client plus account, zone and tunnel resolved once (from the
// configured IDs, else discovered from DOMAIN) and cached, so every task reads each thing once.
// Reads only; no env reads (the config is passed in), no task knowledge.
import { ConfigError, FailureError } from './errors.ts'
import type { TransportOptions, Transport } from './http.ts'
import { createCloudflare, type Cloudflare, type Tunnel } from './cloudflare.ts'
import { fqdn, type CloudflareConfig } from './cloudflare-config.ts'

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
}

export interface SessionOptions {
  config: CloudflareConfig
  /** under --dry-run: writes are reported here, not sent */
  dryRun?: { skipped(what: string): void }
  transport?: Transport
  transportOptions?: TransportOptions
}

export function openSession(o: SessionOptions): Session {
  const { config } = o
  const cf = createCloudflare({
    auth: config.auth,
    baseUrl: config.baseUrl,
    transport: o.transport,
    transportOptions: { maxRetries: 3, maxWaitMs: 60_000, ...o.transportOptions, dryRun: o.dryRun },
  })
  let zone: Promise<ZoneRef> | undefined
  let tunnel: Promise<Tunnel | undefined> | undefined

  async function resolveZone(): Promise<ZoneRef> {
    const domain = fqdn(config.domain)
    if (config.zoneId) {
      const z = await cf.zone(config.zoneId)
      const name = fqdn(z.name)
      if (domain !== name && !domain.endsWith(`.${name}`))
        throw new ConfigError(`CLOUDFLARE_ZONE_ID is the zone ${z.name}, which does not contain DOMAIN ${domain}`, { field: 'CLOUDFLARE_ZONE_ID', hint: 'fix CLOUDFLARE_ZONE_ID, or unset it to find the zone from DOMAIN' })
      return { id: z.id, name, accountId: z.account.id }
    }
    // DOMAIN may be the zone itself or a name inside it (lab.example.com in the zone example.com)
    const labels = domain.split('.')
    for (let i = 0; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.')
      const zones = (await cf.zonesByName(candidate)).filter((z) => fqdn(z.name) === candidate)
      const pick = zones.find((z) => !config.accountId || z.account.id === config.accountId) ?? (config.accountId ? undefined : zones[0])
      if (pick) return { id: pick.id, name: candidate, accountId: pick.account.id }
      if (zones.length && config.accountId)
        throw new ConfigError(`the zone ${candidate} belongs to another account than CLOUDFLARE_ACCOUNT_ID`, { field: 'CLOUDFLARE_ACCOUNT_ID', hint: 'fix CLOUDFLARE_ACCOUNT_ID, or unset it to take the zone\'s account' })
    }
    throw new ConfigError(`no Cloudflare zone for DOMAIN ${domain} is visible to this token`, {
      field: 'DOMAIN',
      hint: 'check DOMAIN; add the domain to your Cloudflare account; or give the token "Zone · Zone · Read" on it (a token without it sees no zones), or set CLOUDFLARE_ZONE_ID',
    })
  }

  async function resolveTunnel(): Promise<Tunnel | undefined> {
    const account = await session.account()
    if (config.tunnelId) {
      const t = await cf.tunnel(account, config.tunnelId)
      if (t.deleted_at) throw new FailureError(`tunnel ${config.tunnelId} (CLOUDFLARE_TUNNEL_ID) was deleted`, { hint: 'unset CLOUDFLARE_TUNNEL_ID to use (or create) the tunnel named by CLOUDFLARE_TUNNEL_NAME' })
      return t
    }
    const found = (await cf.tunnelsByName(account, config.tunnelName)).filter((t) => t.name === config.tunnelName && !t.deleted_at)
    if (found.length > 1)
      throw new FailureError(`${found.length} tunnels are named "${config.tunnelName}" (${found.map((t) => t.id).join(', ')})`, { hint: 'set CLOUDFLARE_TUNNEL_ID to the one Stackyard should use' })
    return found[0]
  }

  const session: Session = {
    cf,
    config,
    async account() {
      if (config.accountId) return config.accountId
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
  }
  return session
}
