// Reset the bundled Infisical. --data: dump the database (backups/infisical-<time>.sql, mode 0600), then empty it and
// Redis; the backend recreates its schema on restart (run bootstrap again). --infra: dump the database when it runs,
// then remove the Infisical containers and exactly their volumes, found by compose labels. Both ask for a typed
// confirmation (or --yes). Changes: Docker containers/volumes/data of the infisical services; backups/.
// Usage: npx zx tasks/00-infrastructure/infisical/reset.ts (--data | --infra) [--yes] [--dry-run] [--json]
import { task } from '../../../lib/task/task.ts'
import { UsageError } from '../../../lib/core/errors.ts'
import { resetInfisical } from '../../../lib/infisical/reset.ts'

export default await task({
  summary: 'Reset the bundled Infisical (--data: empty it; --infra: remove containers and volumes), after a backup',
  docker: true,
  flags: {
    data: { type: 'boolean', help: 'back up, then empty the database and Redis (containers stay)' },
    infra: { type: 'boolean', help: 'back up if possible, then remove the Infisical containers and their volumes' },
  },
  dryRun: true,
  json: true,
  yes: true,
  async run(ctx) {
    if (Boolean(ctx.flags.data) === Boolean(ctx.flags.infra)) throw new UsageError('say what to reset: --data or --infra', { hint: '--data keeps the containers and empties the data; --infra removes containers and volumes' })
    const r = await resetInfisical(ctx, ctx.flags.data ? 'data' : 'infra')
    if (r.nothing) ctx.log.success('nothing to remove: no Infisical containers or volumes exist')
    if (ctx.json) ctx.out(r.nothing ? { reset: r.reset, containers: [], volumes: [], backup: null } : { reset: r.reset, containers: r.containers, volumes: r.volumes, backup: r.backup, dryRun: ctx.dryRun })
    if (!r.nothing && !ctx.dryRun) ctx.log.success(`Infisical ${r.reset} reset; INFISICAL_CLIENT_ID/SECRET/PROJECT_ID in .env no longer work: run up, then npx zx tasks/00-infrastructure/infisical/bootstrap.ts`)
  },
}, import.meta)
