// Reconcile Access, the tunnel ingress and DNS with the registry in one plan, shown before anything
// changes, applied in a safe order: Access apps (their AUD), then the ingress, then DNS.
// Changes: Access policies and apps, the tunnel configuration, DNS records; .env (AUDs).
// Usage: npx zx tasks/00-infrastructure/cloudflare/apply.ts [--prune] [--force] [--yes] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { reconcileTask } from '../../../lib/cloudflare/reconcile-tasks.ts'

export default await task({
  summary: 'Plan and apply Access, tunnel ingress and DNS from the registry',
  description: 'Asks before changing anything when run in a terminal (--yes skips the question). A second run makes no write requests.',
  flags: {
    prune: { type: 'boolean', help: 'also remove owned rules, records and apps of hosts no longer declared' },
    force: { type: 'boolean', help: 'take over rules, records and apps not managed by Stackyard at declared hosts (never A/AAAA records)' },
  },
  dryRun: true,
  json: true,
  yes: true,
  run: (ctx) => reconcileTask(ctx, { access: true, ingress: true, dns: true }, { prune: ctx.flags.prune, force: ctx.flags.force, confirm: true }),
}, import.meta)
