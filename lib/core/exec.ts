// Child processes: one runner for reads and one for changes (the dry-run hook); no task knowledge.
// Commands are argv arrays started directly (lib/core/exec-stream.ts), never a string and never through a shell, so no
// value from a file, an archive or an API is ever parsed as shell syntax; secrets never go into argv (pass them
// through `input` or a file). Every command is logged redacted, with --verbose.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { CommandError } from './errors.ts'
import { runFiltered, runStreaming } from './exec-stream.ts'
import { log } from './log.ts'
import { redact } from './redact.ts'
import { scope } from './scope.ts'

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
  /** true when the command was not run because of --dry-run */
  skipped?: boolean
}

export interface ExecOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** stdin content: how secrets reach a child (e.g. `docker login --password-stdin`) */
  input?: string
  /** return the result on a non-zero exit instead of throwing CommandError */
  nothrow?: boolean
  timeoutMs?: number
  /**
   * our stdin to the child, and its stdout/stderr to ours line by line through this filter (long-running or
   * interactive output such as `logs --follow` or a compose subcommand the user runs); captures nothing
   */
  passthrough?: (text: string) => string
  /** stream the child's stdout into this (ended when the child is done) instead of capturing it: dumps */
  stdout?: Writable
  /** feed the child's stdin from this stream (large or binary input, e.g. a dump to restore) */
  stdin?: Readable
}

export type Runner = (cmd: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>

/** The environment children get: the run's, minus the preload that .npmrc puts into NODE_OPTIONS (lib/boot/). */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...scope().env, ...extra }
  delete env.NODE_OPTIONS
  return env
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

/** Runs commands for real: spawned from the argv array, no shell in between. */
export const run: Runner = async (cmd, args, opts = {}) => {
  const shown = redact(formatCommand(cmd, args))
  log.debug(`$ ${shown}${opts.cwd ? `   (in ${opts.cwd})` : ''}`)
  const started = Date.now()
  if (opts.passthrough) {
    let exitCode
    try {
      exitCode = await runFiltered(cmd, args, { cwd: opts.cwd, env: childEnv(opts.env), timeoutMs: opts.timeoutMs, filter: opts.passthrough })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.nothrow) return { exitCode: 127, stdout: '', stderr: `${cmd}: command not found` }
      throw new CommandError(shown, null, String((err as Error).message ?? err))
    }
    log.debug(`  exit ${exitCode} after ${Date.now() - started} ms`)
    if (exitCode !== 0 && !opts.nothrow) throw new CommandError(shown, exitCode, '')
    return { exitCode, stdout: '', stderr: '' }
  }
  let r: ExecResult
  try {
    r = await runStreaming(cmd, args, { cwd: opts.cwd, env: childEnv(opts.env), stdin: opts.stdin, input: opts.input, stdout: opts.stdout, timeoutMs: opts.timeoutMs })
  } catch (err) {
    // a missing program answers as a shell would have (127), for callers that check exit codes
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.nothrow) return { exitCode: 127, stdout: '', stderr: `${cmd}: command not found` }
    throw new CommandError(shown, null, String((err as Error).message ?? err))
  }
  log.debug(`  exit ${r.exitCode} after ${Date.now() - started} ms`)
  if (r.exitCode !== 0 && !opts.nothrow) throw new CommandError(shown, r.exitCode, redact(r.stderr))
  return r
}

/**
 * The runner for changes. Under --dry-run it prints the command (redacted) through `report`
 * and returns an empty success without running anything; otherwise it runs.
 */
export function changeRunner(dryRun: boolean, report: (line: string) => void, real: Runner = run): Runner {
  return async (cmd, args, opts = {}) => {
    if (!dryRun) return real(cmd, args, opts)
    report(formatCommand(cmd, args) + (opts.cwd ? `   # in ${opts.cwd}` : ''))
    return { exitCode: 0, stdout: '', stderr: '', skipped: true }
  }
}

/** Is this program on PATH? (looked up here, as spawn does: no shell) */
export async function which(cmd: string, path = scope().env.PATH ?? ''): Promise<boolean> {
  if (cmd.includes('/')) return executable(cmd)
  return path.split(delimiter).some((dir) => dir && executable(join(dir, cmd)))
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
