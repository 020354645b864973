// Reconcile Cloudflare Access with the registry: the reusable allow policy (CLOUDFLARE_ACCESS_EMAILS /
// CLOUDFLARE_ACCESS_EMAIL_DOMAIN, optional CLOUDFLARE_ACCESS_IDP_ID) and one self-hosted app per
// protected route; records each app's AUD as <SERVICE>_ACCESS_AUD and CLOUDFLARE_AUTH_DOMAIN in .env.
// Changes: Access policies and apps in the account; .env (only when a value differs).
// Usage: npx zx tasks/00-infrastructure/cloudflare/access.ts [--prune] [--force] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { reconcileTask } from '../../../lib/cloudflare/reconcile-tasks.ts'

export default await task({
  summary: 'Reconcile Cloudflare Access apps and the allow policy with the registry',
  description:
    'protected routes get a self-hosted app behind the "Stackyard allow" policy; public routes get none; bypass routes get an app with a bypass policy (warned). Run routes.ts (or apply.ts) afterwards to put the AUD on the ingress.',
  flags: {
    prune: { type: 'boolean', help: 'delete owned apps of hosts no longer declared' },
    force: { type: 'boolean', help: 'take over an app not managed by Stackyard at a declared host' },
  },
  dryRun: true,
  json: true,
  run: (ctx) => reconcileTask(ctx, { access: true }, { prune: ctx.flags.prune, force: ctx.flags.force }),
}, import.meta)
