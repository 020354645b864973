// Reconcile the tunnel's ingress with the registry: every routed host <sub>.<DOMAIN> → the proxy
// (http://caddy:80) with its Host header, and Access enforced by cloudflared for protected routes.
// Changes: the tunnel configuration (one read-modify-write PUT; rules Stackyard does not own are kept).
// Usage: npx zx tasks/00-infrastructure/cloudflare/routes.ts [--remove HOST] [--prune] [--force] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { reconcileTask } from '../../../lib/cloudflare/reconcile-tasks.ts'

export default await task({
  summary: 'Reconcile the tunnel ingress rules with the registry routes',
  description:
    'Owned rules (no path, service = the proxy URL, hostname under DOMAIN) are added, updated or removed; every other rule and top-level field is kept as read; the catch-all stays last. A concurrent edit of the configuration aborts the write.',
  flags: {
    remove: { type: 'strings', placeholder: 'HOST', help: 'remove the rule of this host' },
    prune: { type: 'boolean', help: 'remove owned rules of hosts no longer declared' },
    force: { type: 'boolean', help: 'replace a rule not managed by Stackyard that routes a declared host elsewhere' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/00-infrastructure/cloudflare/routes.ts --dry-run', 'npx zx tasks/00-infrastructure/cloudflare/routes.ts --remove old.example.com'],
  run: (ctx) => reconcileTask(ctx, { ingress: true }, { remove: ctx.flags.remove, prune: ctx.flags.prune, force: ctx.flags.force }),
}, import.meta)
