// The tunnel itself: ensure a remotely-managed tunnel of the configured name exists (create it if not),
// fetch its connector token (registered for redaction at once, never printed) and describe its health.
// No env reads: the caller compares the token with what it has and writes it (ctx.editEnv).
import { FailureError } from '../core/errors.ts'
import { registerSecret } from '../core/redact.ts'
import type { Tunnel } from './client.ts'
import type { Session } from './session.ts'

export interface TunnelHealth {
  id: string
  name: string
  /** inactive (never connected), healthy, degraded, down */
  status: string
  connections: number
  /** data centres the connector is attached to, e.g. ["ams01", "fra02"] */
  colos: string[]
}

export interface EnsuredTunnel {
  /** undefined only under --dry-run when the tunnel would be created */
  tunnel?: Tunnel
  created: boolean
  /** the connector token (a secret), when the tunnel exists */
  token?: string
  health?: TunnelHealth
}

export function tunnelHealth(t: Tunnel): TunnelHealth {
  const conns = (t.connections ?? []).filter((c) => !c.is_pending_reconnect)
  return { id: t.id, name: t.name, status: t.status ?? 'unknown', connections: conns.length, colos: [...new Set(conns.map((c) => c.colo_name).filter((c): c is string => Boolean(c)))].sort() }
}

/** Finds the tunnel or creates it (config_src "cloudflare"); refuses a locally-managed one. */
export async function ensureTunnel(s: Session): Promise<EnsuredTunnel> {
  const account = await s.account()
  let tunnel = await s.findTunnel()
  let created = false
  if (!tunnel) {
    tunnel = await s.cf.createTunnel(account, s.config.tunnelName)
    created = true
    if (!tunnel) return { created } // --dry-run
  }
  if (tunnel.config_src === 'local' || tunnel.remote_config === false)
    throw new FailureError(`tunnel "${tunnel.name}" (${tunnel.id}) is locally managed: its ingress lives in a cloudflared config file, which Stackyard does not manage`, {
      hint: 'migrate it to a remotely-managed tunnel in the Zero Trust dashboard, or set CLOUDFLARE_TUNNEL_NAME to a new name and run again',
    })
  const token = await s.cf.tunnelToken(account, tunnel.id)
  registerSecret(token)
  return { tunnel, created, token, health: tunnelHealth(tunnel) }
}
