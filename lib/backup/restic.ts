// The restic client: one function per restic command we use, run through the injected runners (argv only, never a
// shell). The repository and the password reach restic through its environment (RESTIC_REPOSITORY, RESTIC_PASSWORD),
// never argv or a file; restic's stdin is always empty, so it never waits for a password. restic's failures become
// typed errors (a wrong password: exit 2; an unreachable repository: exit 1) with its stderr tail, redacted.
import type { Writable } from 'node:stream'
import { z } from 'zod'
import { ConfigError, FailureError } from '../core/errors.ts'
import type { ExecOptions, ExecResult, Runner } from '../core/exec.ts'
import { redact } from '../core/redact.ts'
import { PASSWORD_VARIABLE, REPOSITORY_VARIABLE, type OffsiteSettings } from './offsite-settings.ts'
import { parseJsonAs } from '../core/format.ts'

/** The tag every snapshot Stackyard makes carries; forget and restore only look at these. */
export const SNAPSHOT_TAG = 'stackyard'

export interface ResticRunners {
  exec: Runner
  change: Runner
  /** a dry run: reads pass --no-lock, so not even a lock file is written into the repository */
  dryRun?: boolean
}

/**
 * restic's environment: the repository and password (none: restic fails on an existing repository instead of asking),
 * the storage credentials, and none of the variables that would make restic take its password or repository from
 * somewhere else (a file or a command in the caller's shell beat RESTIC_PASSWORD).
 */
export function resticEnv(s: Pick<OffsiteSettings, 'repository' | 'password' | 'credentials'>): Record<string, string | undefined> {
  return {
    RESTIC_REPOSITORY: s.repository,
    RESTIC_PASSWORD: s.password,
    RESTIC_REPOSITORY_FILE: undefined,
    RESTIC_PASSWORD_FILE: undefined,
    RESTIC_PASSWORD_COMMAND: undefined,
    ...s.credentials,
  }
}

const tail = (text: string) => redact(text.trimEnd().split('\n').slice(-8).join('\n'))

/** What a failed restic run means (restic 0.14 has exit 1 for all of these; 0.17+ has 10 and 12). */
export function resticFailure(s: Pick<OffsiteSettings, 'shown' | 'passwordWhere'>, what: string, r: ExecResult): Error {
  const err = r.stderr
  if (r.exitCode === 12 || /wrong password or no key found/.test(err))
    return new ConfigError(`the offsite repository ${s.shown} does not open with ${s.passwordWhere ?? PASSWORD_VARIABLE}: wrong password`, {
      hint: `set ${PASSWORD_VARIABLE} to the password this repository was created with (restic cannot recover a lost one)`,
    })
  if (r.exitCode === 10 || isMissing(err)) return missingRepository(s)
  if (r.exitCode === 11 || /unable to create lock|repository is already locked/.test(err))
    return new FailureError(`restic ${what}: the offsite repository ${s.shown} is locked by another restic process\n${tail(err)}`, { hint: 'wait for it; if none runs any more, remove the stale lock: restic unlock (with the same RESTIC_REPOSITORY and password)' })
  return new FailureError(`restic ${what} failed (exit ${r.exitCode}) for ${s.shown}${err.trim() ? `\n${tail(err)}` : ''}`, { hint: 'see restic\'s message above; a remote repository needs its credentials (AWS_*, B2_*, ssh keys) in the environment or .env' })
}

export function missingRepository(s: Pick<OffsiteSettings, 'shown'>): ConfigError {
  return new ConfigError(`there is no restic repository at ${s.shown} (${REPOSITORY_VARIABLE})`, { hint: 'check the setting; `npx zx tasks/offsite.ts push` creates it' })
}

function isMissing(stderr: string): boolean {
  return /Is there a repository at the following location\?|repository does not exist/.test(stderr)
}

export interface Restic {
  /** 'ok', or 'missing' when no repository is there (detected before restic needs a password) */
  probe(): Promise<'ok' | 'missing'>
  init(): Promise<void>
  /** backs up `dir` (skipping temp files and work folders); the new snapshot's id */
  backup(dir: string, excludes: readonly string[]): Promise<{ snapshot?: string; filesNew: number; dataAdded: number; skipped: boolean }>
  snapshots(): Promise<Snapshot[]>
  ls(snapshot: string): Promise<Node[]>
  /** streams one file of a snapshot into `into` */
  dump(snapshot: string, path: string, into: Writable): Promise<void>
  /** forgets what the policy does not keep; the ids forgotten */
  forget(keep: readonly string[]): Promise<{ removed: string[]; skipped: boolean }>
  prune(): Promise<void>
  check(readData: boolean): Promise<string>
}

const Snapshot = z.object({ id: z.string(), short_id: z.string().optional(), time: z.string(), hostname: z.string().optional(), paths: z.array(z.string()), tags: z.array(z.string()).nullish() })
export type Snapshot = z.infer<typeof Snapshot>
const Node = z.object({ name: z.string(), type: z.string(), path: z.string(), size: z.number().optional(), mtime: z.string().optional() })
export type Node = z.infer<typeof Node>
const Forget = z.array(z.object({ remove: z.array(z.object({ id: z.string() })).nullish() }))

function parseJson<T extends z.ZodType>(schema: T, text: string, what: string): z.infer<T> {
  const data = parseJsonAs(schema, text)
  if (data === undefined) throw new FailureError(`restic ${what}: unexpected output (not the JSON this version of Stackyard reads)`, { hint: 'restic 0.14 or later is needed: restic version' })
  return data
}

/** JSON lines (restic's --json for backup and ls): each line that parses. */
function jsonLines(text: string): unknown[] {
  const out: unknown[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line))
    } catch {
      // a progress line cut by a terminal width: not data
    }
  }
  return out
}

export function restic(s: OffsiteSettings, runners: ResticRunners): Restic {
  const opts = (extra: ExecOptions = {}): ExecOptions => ({ env: resticEnv(s), input: '', nothrow: true, ...extra })
  const noLock = runners.dryRun ? ['--no-lock'] : []
  async function read(what: string, args: string[], extra: ExecOptions = {}): Promise<ExecResult> {
    const r = await runners.exec('restic', [...noLock, ...args], opts(extra))
    if (r.exitCode !== 0) throw resticFailure(s, what, r)
    return r
  }
  async function change(what: string, args: string[]): Promise<ExecResult> {
    const r = await runners.change('restic', args, opts())
    if (r.exitCode !== 0) throw resticFailure(s, what, r)
    return r
  }
  return {
    async probe() {
      // without a password restic still says first whether the repository exists (it checks before asking)
      const r = await runners.exec('restic', [...noLock, 'cat', 'config'], opts())
      if (r.exitCode === 0) return 'ok'
      if (r.exitCode === 10 || isMissing(r.stderr)) return 'missing'
      if (!s.password && /empty password|reading repository password/.test(r.stderr + r.stdout))
        throw new ConfigError(`${PASSWORD_VARIABLE} is not set, and ${s.shown} already holds a restic repository`, { hint: `set ${PASSWORD_VARIABLE} in .env to the password it was created with` })
      throw resticFailure(s, 'cat config', r)
    },
    async init() {
      await change('init', ['init'])
    },
    async backup(dir, excludes) {
      const r = await change('backup', ['backup', '--json', '--tag', SNAPSHOT_TAG, ...excludes.flatMap((e) => ['--exclude', e]), dir])
      if (r.skipped) return { filesNew: 0, dataAdded: 0, skipped: true }
      const summary = jsonLines(r.stdout).find((l) => (l as { message_type?: string }).message_type === 'summary') as { snapshot_id?: string; files_new?: number; data_added?: number } | undefined
      if (!summary?.snapshot_id) throw new FailureError('restic backup: no summary in its output', { hint: 'restic 0.14 or later is needed: restic version' })
      return { snapshot: summary.snapshot_id, filesNew: summary.files_new ?? 0, dataAdded: summary.data_added ?? 0, skipped: false }
    },
    async snapshots() {
      return parseJson(z.array(Snapshot), (await read('snapshots', ['snapshots', '--json', '--tag', SNAPSHOT_TAG])).stdout, 'snapshots')
    },
    async ls(snapshot) {
      const lines = jsonLines((await read('ls', ['ls', '--json', snapshot])).stdout)
      return lines.flatMap((l) => {
        const n = Node.safeParse(l)
        return n.success && (l as { struct_type?: string }).struct_type !== 'snapshot' ? [n.data] : []
      })
    },
    async dump(snapshot, path, into) {
      await read('dump', ['dump', snapshot, path], { stdout: into })
    },
    async forget(keep) {
      const r = await change('forget', ['forget', '--json', '--tag', SNAPSHOT_TAG, ...keep])
      if (r.skipped) return { removed: [], skipped: true }
      // restic prints the JSON on the first line
      const groups = parseJson(Forget, r.stdout.split('\n')[0] ?? '', 'forget')
      return { removed: groups.flatMap((g) => (g.remove ?? []).map((x) => x.id)), skipped: false }
    },
    async prune() {
      await change('prune', ['prune'])
    },
    async check(readData) {
      return (await read('check', ['check', ...(readData ? ['--read-data'] : [])])).stdout
    },
  }
}
