// Report the zone settings that matter for a tunnel-fronted platform (SSL mode, automatic SSL mode,
// Always Use HTTPS, minimum TLS, security level) and rules that could cache or rewrite routed hosts,
// judged by Stackyard's one stance (never change `ssl`; see README "Cloudflare"). --fix applies only the
// values the stance calls safe; --purge purges the zone cache. Exit 1 when a check fails.
// Changes: nothing, unless --fix (zone settings) or --purge (cache).
// Usage: npx zx tasks/00-infrastructure/cloudflare/check.ts [--fix] [--purge] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { zoneCheckTask } from '../../../lib/cloudflare/check-tasks.ts'

export default await task({
  summary: 'Check the zone settings against Stackyard\'s stance',
  flags: {
    fix: { type: 'boolean', help: 'apply the recommended values the stance calls safe (never the SSL mode)' },
    purge: { type: 'boolean', help: 'purge everything from the zone cache' },
  },
  dryRun: true,
  json: true,
  run: (ctx) => zoneCheckTask(ctx, { fix: ctx.flags.fix, purge: ctx.flags.purge }),
}, import.meta)
