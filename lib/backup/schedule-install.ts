// Installing the generated schedule: where the units go (user or system units, or a chosen folder), writing only the
// files that differ, removing the ones an earlier run generated that the settings no longer ask for, and refusing a
// schedule whose secrets live only in the calling shell (a timer does not see it). Writes through the task context.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { homedir, userInfo } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { UsageError } from '../core/errors.ts'
import { PASSPHRASE_VARIABLE } from './inputs.ts'
import { CREDENTIAL_VARIABLES, PASSWORD_VARIABLE } from './offsite-settings.ts'
import { MARKER, cronLines, jobs, readSchedule, systemdUnits, type Paths, type ScheduleSettings } from './schedule.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'

export type ScheduleCtx = Pick<TaskContext<FlagDecls>, 'root' | 'dryRun' | 'log' | 'out' | 'skipped' | 'writeFile' | 'env' | 'rel'>

const SYSTEM_DIR = '/etc/systemd/system'

/** The folder user units are read from: $XDG_CONFIG_HOME/systemd/user (default ~/.config/systemd/user). */
export function userUnitDir(shell: Readonly<Record<string, string | undefined>>): string {
  return join(shell.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user')
}

/** npx beside the node that runs this (else the first on PATH), and a PATH for the jobs that starts with node's folder. */
export function jobPaths(root: string, shell: Readonly<Record<string, string | undefined>>, o: { system: boolean }): Paths {
  const nodeDir = dirname(process.execPath)
  const onPath = (shell.PATH ?? '').split(delimiter).filter(Boolean)
  const npx = [nodeDir, ...onPath].map((d) => join(d, 'npx')).find((p) => existsSync(p))
  if (!npx) throw new UsageError('npx is not installed (not beside node, not on PATH)', { hint: 'install Node.js with npm (npx comes with it)' })
  const path = [...new Set([nodeDir, dirname(npx), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])].join(':')
  const user = userInfo().username
  return { root, npx, path, ...(o.system ? { home: homedir(), ...(userInfo().uid !== 0 ? { user } : {}) } : {}) }
}

/**
 * A scheduled run sees the env files, never the shell it was installed from: a secret the schedule needs that only
 * the shell holds is refused (exit 2), naming it; a missing offsite password is only a warning (the first push makes it).
 */
export function checkSecretsReachable(ctx: Pick<ScheduleCtx, 'env' | 'log'>, s: ScheduleSettings): void {
  const onlyShell = (k: string) => ctx.env.lookup(k) !== undefined && !(k in ctx.env.files)
  const needed = [...(s.encrypt ? [PASSPHRASE_VARIABLE] : []), ...(s.offsite ? [PASSWORD_VARIABLE] : [])]
  const shellOnly = needed.filter(onlyShell)
  if (shellOnly.length)
    throw new UsageError(`the scheduled jobs would not see ${shellOnly.join(', ')}: set only in your shell`, { hint: 'put them in .env (mode 0600): a timer or cron job reads the env files, not your shell' })
  // which storage credentials a repository needs is restic's business: a shell-only one is worth a word, not a refusal
  const credentials = s.offsite ? CREDENTIAL_VARIABLES.filter(onlyShell) : []
  if (credentials.length) ctx.log.warn(`${credentials.join(', ')}: set only in your shell, which the scheduled offsite push will not see; if the repository needs them, put them in .env`)
  if (s.encrypt && ctx.env.lookup(PASSPHRASE_VARIABLE) === undefined)
    throw new UsageError(`STACKYARD_BACKUP_ENCRYPT=true needs ${PASSPHRASE_VARIABLE} in .env`, { hint: 'a scheduled backup cannot ask for the passphrase' })
  if (s.offsite && ctx.env.lookup(PASSWORD_VARIABLE) === undefined)
    ctx.log.warn(`${PASSWORD_VARIABLE} is not set yet: run npx zx tasks/offsite.ts push once by hand (it creates the repository and the password), and keep a copy of the password away from this machine`)
}

export interface ScheduleReport {
  format: 'systemd' | 'cron'
  dir?: string
  files: Array<{ name: string; path?: string; content: string; changed: boolean }>
  removed: string[]
  cron?: string[]
}

/** Writes (or, with print, only returns) the schedule; a second run with the same settings writes nothing. */
export async function installSchedule(ctx: ScheduleCtx, o: { cron: boolean; system: boolean; dir?: string; print: boolean }): Promise<ScheduleReport> {
  const s = readSchedule(ctx.env)
  checkSecretsReachable(ctx, s)
  const paths = jobPaths(ctx.root, ctx.env.shell, { system: o.system })
  if (o.cron) return { format: 'cron', files: [], removed: [], cron: cronLines(s, paths) }
  const units = systemdUnits(s, paths)
  if (o.print) return { format: 'systemd', files: units.map((u) => ({ ...u, changed: false })), removed: [] }
  const dir = o.dir ? resolve(ctx.root, o.dir) : o.system ? SYSTEM_DIR : userUnitDir(ctx.env.shell)
  const files: ScheduleReport['files'] = []
  for (const u of units) {
    const path = join(dir, u.name)
    // writes only what differs (the folder created when missing); a dry run also shows the file
    const { changed } = await ctx.writeFile(path, u.content, { mode: 0o644 })
    if (changed && ctx.dryRun) ctx.out(u.content)
    files.push({ name: u.name, path, content: u.content, changed })
  }
  const removed: string[] = []
  for (const name of generatedIn(dir)) {
    if (units.some((u) => u.name === name)) continue
    if (ctx.dryRun) ctx.skipped(`remove ${join(dir, name)} (no longer scheduled)`)
    else await unlink(join(dir, name))
    removed.push(join(dir, name))
  }
  return { format: 'systemd', dir, files, removed }
}

/** The units an earlier run wrote in `dir`: stackyard-*.service/timer whose first line is our marker. */
function generatedIn(dir: string): string[] {
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((n) => /^stackyard-[a-z-]+\.(service|timer)$/.test(n) && (readOptional(join(dir, n)) ?? '').startsWith(MARKER))
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** The commands that switch the timers on, for the report. */
export function enableCommands(s: ScheduleSettings, system: boolean, removedTimers: readonly string[] = []): string[] {
  const sc = system ? 'systemctl' : 'systemctl --user'
  const timers = jobs(s).map((j) => `stackyard-${j.name}.timer`)
  return [...(removedTimers.length ? [`${sc} disable --now ${removedTimers.join(' ')}`] : []), `${sc} daemon-reload`, `${sc} enable --now ${timers.join(' ')}`, ...(system ? [] : [`loginctl enable-linger ${userInfo().username}   # so the timers run while you are logged out`])]
}
