// Reset the bundled Infisical. --data: dump the database (backups/infisical-<time>.sql, mode 0600), then empty it and
// Redis; the backend recreates its schema on restart (run bootstrap again). --infra: dump the database when it runs,
// then remove the Infisical containers and exactly their volumes, found by compose labels. Both ask for a typed
// confirmation (or --yes). Changes: Docker containers/volumes/data of the infisical services; backups/.
// Usage: npx zx tasks/00-infrastructure/infisical/reset.ts (--data | --infra) [--yes] [--dry-run] [--json]
import { join } from 'node:path'
import { task } from '../../../lib/task.ts'
import { FailureError, UsageError } from '../../../lib/errors.ts'
import { BACKUP_DIR, prepareBackupDir } from '../../../lib/backup-dir.ts'
import { backupName, databaseOf, dumpDatabase, findInstance, instanceOf } from '../../../lib/infisical-reset.ts'

await task({
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
    const instance = instanceOf(ctx.registry)
    const found = await findInstance(ctx.exec, instance)
    const db = databaseOf(instance, found)
    const what = ctx.flags.data ? 'data' : 'infra'
    ctx.log.info(`project ${instance.project}: containers ${found.containers.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}; volumes ${found.volumes.join(', ') || 'none'}`)
    if (what === 'data' && !db) throw new FailureError('the Infisical database container is not running, so it can be neither backed up nor emptied', { hint: 'start it (STACKYARD_PROFILES=infisical, then up), or use --infra to remove everything' })
    if (what === 'infra' && !found.containers.length && !found.volumes.length) {
      ctx.log.success('nothing to remove: no Infisical containers or volumes exist')
      if (ctx.json) ctx.out({ reset: what, containers: [], volumes: [], backup: null })
      return
    }
    const loss = what === 'data' ? 'every secret, user and identity in it is deleted' : `containers and volumes ${found.volumes.join(', ')} are deleted`
    await ctx.confirm(`Reset Infisical ${what}: ${loss}${db ? ' (a pg_dump backup is taken first)' : ' — the database is not running, so NO backup can be taken'}.`, { typed: `reset infisical ${what}` })
    let backup: string | null = null
    if (db) {
      const dump = await dumpDatabase(ctx.change, db)
      backup = backupName()
      if (!dump.skipped) await prepareBackupDir(ctx, join(ctx.root, BACKUP_DIR))
      await ctx.writeFile(backup, dump.sql, { mode: 0o600, secret: true })
      if (!ctx.dryRun) ctx.log.success(`backup: ${backup} (restoring it needs the same INFISICAL_ENCRYPTION_KEY)`)
    }
    const byRole = (role: string) => found.containers.filter((c) => instance.services.find((s) => s.name === c.service)?.role === role)
    if (what === 'data') {
      const backend = byRole('backend').map((c) => c.id)
      if (backend.length) await ctx.change('docker', ['stop', ...backend])
      await ctx.change('docker', ['exec', db!.container.id, 'psql', '-U', db!.user, '-d', db!.database, '-v', 'ON_ERROR_STOP=1', '-c', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'])
      for (const c of byRole('cache').filter((c) => c.state === 'running')) await ctx.change('docker', ['exec', c.id, 'redis-cli', 'FLUSHALL'])
      if (backend.length) await ctx.change('docker', ['start', ...backend])
    } else {
      if (found.containers.length) await ctx.change('docker', ['rm', '-f', '-v', ...found.containers.map((c) => c.id)])
      if (found.volumes.length) await ctx.change('docker', ['volume', 'rm', ...found.volumes])
    }
    if (ctx.json) ctx.out({ reset: what, containers: found.containers.map((c) => c.name), volumes: what === 'infra' ? found.volumes : [], backup, dryRun: ctx.dryRun })
    if (!ctx.dryRun) ctx.log.success(`Infisical ${what} reset; INFISICAL_CLIENT_ID/SECRET/PROJECT_ID in .env no longer work: run up, then npx zx tasks/00-infrastructure/infisical/bootstrap.ts`)
  },
})
