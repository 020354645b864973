// Create the per-app databases and roles on the running shared PostgreSQL, as its first start does. Needed when an
// app was added to APP_DATABASES after the first start (PostgreSQL reads /docker-entrypoint-initdb.d only on an
// empty data folder); --passwords re-applies each app role's password after a rotation. Idempotent; drops nothing.
// Changes: roles, databases and extensions inside the postgres container (a second run changes nothing).
// Usage: npx zx tasks/01-data/databases.ts [--passwords] [--dry-run] [--json]
import { task } from '../../lib/task/task.ts'
import { ensureAppDatabases } from '../../lib/stacks/app-databases.ts'

export default await task({
  summary: 'Create the missing per-app databases and roles on the running PostgreSQL',
  docker: true,
  flags: {
    passwords: { type: 'boolean', help: 'also set every app role\'s password to the current <APP>_DB_PASSWORD (after a rotation)' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/01-data/databases.ts', 'npx zx tasks/01-data/databases.ts --passwords --dry-run'],
  async run(ctx) {
    const r = await ensureAppDatabases(ctx, { passwords: ctx.flags.passwords ?? false })
    if (ctx.json) return ctx.out(r)
    if (!r.ran.length) ctx.log.success(`${r.stack}/${r.service}: every app database exists (${r.apps.join(', ')}): nothing to do`)
    else if (!ctx.dryRun) ctx.log.success(`${r.stack}/${r.service}: ready for ${r.ran.join(', ')}`)
  },
}, import.meta)
