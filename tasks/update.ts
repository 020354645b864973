// Pull newer images without restarting anything and report which services' images changed (running → pulled).
// --apply recreates only those services and waits for health, after recording the images that ran before in
// .stackyard/image-history.json; a stateful service is recreated only with a fresh backup (STACKYARD_UPDATE_BACKUP_MAX_AGE,
// --backup takes one first); a service that does not become healthy is put back on its old image by itself (exit 1).
// Under --engine swarm --apply is a rolling `docker service update` per service that Swarm rolls back by itself when the
// new task fails its health check (exit 1); --rollback is compose-only for now.
// --rollback brings back the images of the last apply (re-tag, recreate).
// Usage: npx zx tasks/update.ts [--stack NAME]… [--apply [--backup] [--backup-max-age D] | --rollback] [--timeout S] [--dry-run] [--json]
import { runEngine, stackFlag, task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { stacksNamed } from '../lib/model/routes.ts'
import { DEFAULT_UPDATE_BACKUP_MAX_AGE, parseDuration } from '../lib/model/settings.ts'
import { applyChanges, pullStack, renderChanges, rollback, type ImageChange } from '../lib/update/update.ts'
import { checkBackups, refusal, refused } from '../lib/update/gate.ts'
import { applySwarm } from '../lib/update/swarm.ts'

export default await task({
  summary: 'Pull newer images and report changes; --apply recreates changed services; --rollback undoes the last apply',
  docker: true,
  swarm: true,
  flags: {
    stack: stackFlag('stacks to update; default the stacks this host runs'),
    apply: { type: 'boolean', help: 'recreate the services whose image changed (waits for health; an unhealthy one goes back to its old image)' },
    backup: { type: 'boolean', help: 'with --apply: back up the stacks whose stateful services will be recreated first' },
    'backup-max-age': { type: 'string', placeholder: 'DURATION', help: 'with --apply: the oldest backup that counts, e.g. 24h, 7d, or off (this run only; default STACKYARD_UPDATE_BACKUP_MAX_AGE)' },
    rollback: { type: 'boolean', help: 'bring back the images that ran before the last --apply' },
    timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'how long a recreated service may take to become healthy' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/update.ts --apply --backup', 'npx zx tasks/update.ts --apply --dry-run', 'npx zx tasks/update.ts --rollback'],
  async run(ctx) {
    if (ctx.flags.apply && ctx.flags.rollback) throw new UsageError('--apply and --rollback exclude each other')
    if ((ctx.flags.backup || ctx.flags.backupMaxAge !== undefined) && !ctx.flags.apply) throw new UsageError('--backup and --backup-max-age go with --apply')
    const flagAge = ctx.flags.backupMaxAge === undefined ? undefined : parseDuration(ctx.flags.backupMaxAge)
    if (flagAge === undefined && ctx.flags.backupMaxAge !== undefined) throw new UsageError(`--backup-max-age ${ctx.flags.backupMaxAge}: not a duration`, { hint: 'a number and a unit (s, m, h, d, w), e.g. 24h, 7d or 1d12h; off skips the backup check for this run' })
    const engine = runEngine(ctx)
    if (engine === 'swarm' && ctx.flags.rollback) throw new UsageError('--rollback is not built for the swarm engine yet', { hint: 'docker service rollback <project>_<service> puts one service back on its previous spec' })
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'active', generating: false })
    // default: the stacks this host runs (STACKYARD_STACKS, or its STACKYARD_HOST_<NAME>_STACKS with --context)
    const stacks = stacksNamed(p.registry, p.settings, ctx.flags.stack, 'selected')
    if (ctx.flags.rollback) {
      const entry = await rollback(ctx, p, stacks, ctx.flags.timeout)
      if (!entry) ctx.log.info('nothing to roll back: no applied update is recorded')
      if (ctx.json) ctx.out({ rolledBack: entry ?? null })
      return
    }
    const changes: ImageChange[] = []
    for (const stack of stacks) {
      ctx.log.step(`${stack.name}: pulling`)
      changes.push(...(await pullStack(ctx, p, stack, engine)))
    }
    if (!ctx.json) ctx.out(renderChanges(changes, ctx.dryRun))
    const changed = changes.filter((c) => c.status === 'changed')
    if (!ctx.flags.apply) {
      if (ctx.json) ctx.out({ changes })
      if (changed.length) ctx.log.info(`apply with: npx zx tasks/update.ts --apply${ctx.flags.stack.length ? ctx.flags.stack.map((s) => ` --stack ${s}`).join('') : ''}`)
      return
    }
    // the backup gate decides before anything is recreated (a refusal is exit 1, nothing changed)
    const maxAgeText = ctx.flags.backupMaxAge ?? (ctx.env.values.STACKYARD_UPDATE_BACKUP_MAX_AGE || DEFAULT_UPDATE_BACKUP_MAX_AGE)
    const backups = await checkBackups(ctx, p.registry, changed, { maxAge: flagAge !== undefined ? flagAge : p.settings.updateBackupMaxAge, maxAgeText, backup: ctx.flags.backup ?? false, engine })
    // --json: one document, the data or the refusal (the error document, naming each service)
    if (backups.some(refused)) throw refusal(backups, maxAgeText)
    if (ctx.json) ctx.out({ changes, backups })
    await (engine === 'swarm' ? applySwarm : applyChanges)(ctx, p, changes, ctx.flags.timeout)
    if (!changed.length) ctx.log.success('every service already runs its newest image')
  },
}, import.meta)
