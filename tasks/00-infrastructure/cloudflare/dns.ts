// Reconcile DNS with the registry: a proxied CNAME <host> → <tunnel-id>.cfargotunnel.com per routed host,
// marked "managed by stackyard"; records Stackyard does not own are never overwritten without --force and
// A/AAAA records at a routed name are reported, never deleted. --check only reports (exit 1 when wrong).
// Changes: DNS records of the zone (none with --check).
// Usage: npx zx tasks/00-infrastructure/cloudflare/dns.ts [--check] [--force] [--prune] [--remove HOST] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { reconcileTask } from '../../../lib/cloudflare/reconcile-tasks.ts'
import { dnsCheckTask } from '../../../lib/cloudflare/check-tasks.ts'

export default await task({
  summary: 'Reconcile the tunnel CNAME records with the registry routes',
  flags: {
    check: { type: 'boolean', help: 'only report missing, wrong and unproxied records; exit 1 when any' },
    force: { type: 'boolean', help: 'overwrite a CNAME not managed by Stackyard at a routed host' },
    prune: { type: 'boolean', help: 'delete owned records of hosts no longer routed' },
    remove: { type: 'strings', placeholder: 'HOST', help: 'delete the owned record of this host' },
  },
  dryRun: true,
  json: true,
  run: (ctx) =>
    ctx.flags.check ? dnsCheckTask(ctx) : reconcileTask(ctx, { dns: true }, { force: ctx.flags.force, prune: ctx.flags.prune, remove: ctx.flags.remove }),
}, import.meta)
