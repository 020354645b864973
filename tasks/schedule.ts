// Schedule the backups: systemd service+timer pairs (user units by default, --system for /etc/systemd/system, or
// --dir DIR) or crontab lines (--cron, printed), generated from the settings: STACKYARD_BACKUP_SCHEDULE (backup with
// --keep STACKYARD_BACKUP_KEEP, then the offsite push when STACKYARD_OFFSITE_REPOSITORY is set) and
// STACKYARD_VERIFY_SCHEDULE (the restore drill, backup --verify). No secret goes into a unit or a line.
// Changes: the unit files (only those that differ; a second run writes nothing). Switching the timers on is yours.
// Usage: npx zx tasks/schedule.ts [--system] [--dir DIR] [--print] [--cron] [--dry-run] [--json]
import { task } from '../lib/task/task.ts'
import { UsageError } from '../lib/core/errors.ts'
import { enableCommands, installSchedule } from '../lib/backup/schedule-install.ts'
import { describeWhen, jobs, readSchedule } from '../lib/backup/schedule.ts'

export default await task({
  summary: 'Write the systemd timers (or crontab lines) for backup, offsite copy and restore drill',
  flags: {
    system: { type: 'boolean', help: `system units in /etc/systemd/system (run as you; default: your user units)` },
    dir: { type: 'string', placeholder: 'DIR', help: 'write the units into this folder instead' },
    print: { type: 'boolean', help: 'print the units on stdout; write nothing' },
    cron: { type: 'boolean', help: 'print crontab lines instead of systemd units (install them with crontab -e)' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/schedule.ts', 'npx zx tasks/schedule.ts --dry-run', 'npx zx tasks/schedule.ts --cron'],
  async run(ctx) {
    if (ctx.flags.cron && (ctx.flags.system || ctx.flags.dir)) throw new UsageError('--cron prints lines; --system and --dir are for systemd units', { hint: 'drop one of them' })
    const r = await installSchedule(ctx, { cron: ctx.flags.cron ?? false, system: ctx.flags.system ?? false, dir: ctx.flags.dir, print: ctx.flags.print ?? false })
    if (ctx.json) return ctx.out({ ...r, dryRun: ctx.dryRun })
    if (r.cron) return ctx.out(r.cron.join('\n'))
    if (ctx.flags.print) return ctx.out(r.files.map((f) => `# ---- ${f.name}\n${f.content}`).join('\n'))
    const s = readSchedule(ctx.env)
    for (const j of jobs(s)) ctx.log.info(`${j.name}: ${describeWhen(j.when)} — ${j.runs.map((a) => `npx zx ${a.join(' ')}`).join(', then ')}`)
    const changed = r.files.filter((f) => f.changed)
    if (ctx.dryRun) return
    if (!changed.length && !r.removed.length) return ctx.log.success(`${r.dir}: the units are up to date; nothing written`)
    ctx.log.success(`${r.dir}: wrote ${changed.map((f) => f.name).join(', ') || 'nothing'}${r.removed.length ? `; removed ${r.removed.length} no longer scheduled` : ''}`)
    const off = r.removed.filter((p) => p.endsWith('.timer')).map((p) => p.slice(p.lastIndexOf('/') + 1))
    ctx.log.info(`switch them on:\n${enableCommands(s, ctx.flags.system ?? false, off).map((c) => `  ${c}`).join('\n')}`)
  },
}, import.meta)
