// Ensure the remotely-managed Cloudflare Tunnel exists (CLOUDFLARE_TUNNEL_NAME, default stackyard-<DOMAIN>;
// or CLOUDFLARE_TUNNEL_ID), store its connector token as CLOUDFLARE_TUNNEL_TOKEN in .env (never printed),
// and report its connections. cloudflared (compose profile `tunnel`) starts once the token is set.
// Changes: creates the tunnel if missing; .env when the token differs.
// Usage: npx zx tasks/00-infrastructure/cloudflare/tunnel.ts [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { storeTunnelToken } from '../../../lib/cloudflare/reconcile-tasks.ts'

export default await task({
  summary: 'Ensure the Cloudflare Tunnel exists and store its token in .env',
  dryRun: true,
  json: true,
  async run(ctx) {
    const { ensured: r, config, stored } = await storeTunnelToken(ctx)
    if (!r.tunnel) {
      ctx.log.info(`would create the remotely-managed tunnel "${config.tunnelName}" and store its token in .env`)
      if (ctx.json) ctx.out({ tunnel: null, created: false, wouldCreate: config.tunnelName })
      return
    }
    const h = r.health!
    if (ctx.json) ctx.out({ tunnel: { id: h.id, name: h.name, status: h.status, connections: h.connections, colos: h.colos }, created: r.created, tokenStored: !ctx.dryRun && !stored })
    ctx.log.success(`tunnel "${h.name}" (${h.id}) ${r.created ? 'created' : 'exists'}; token ${stored ? 'already in .env' : ctx.dryRun ? 'would be written to .env' : 'written to .env'}`)
    if (h.connections) ctx.log.info(`${h.status}: ${h.connections} connection(s) via ${h.colos.join(', ') || 'unknown data centres'}`)
    else ctx.log.warn(`no connector is running (status ${h.status}): start cloudflared with npx zx tasks/up.ts (profile tunnel is on once the token is set)`)
  },
}, import.meta)
