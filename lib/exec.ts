// Child processes: one runner for reads and one for changes (the dry-run hook); no task knowledge.
// Commands are argv arrays quoted by zx, never built strings; secrets never go into argv (pass them
// through `input` or a file). Every command is logged redacted, with --verbose.
import type { Readable, Writable } from 'node:stream'
import { $ } from 'zx'
import { CommandError } from './errors.ts'
import { runFiltered, runStreaming } from './exec-stream.ts'
import { log } from './log.ts'
import { redact } from './redact.ts'

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

/** The environment children get: ours, minus the tsx loader that .npmrc puts into NODE_OPTIONS. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra }
  delete env.NODE_OPTIONS
  return env
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

/** Runs commands for real. */
export const run: Runner = async (cmd, args, opts = {}) => {
  const shown = redact(formatCommand(cmd, args))
  log.debug(`$ ${shown}${opts.cwd ? `   (in ${opts.cwd})` : ''}`)
  const started = Date.now()
  if (opts.passthrough) {
    let exitCode
    try {
      exitCode = await runFiltered(cmd, args, { cwd: opts.cwd, env: childEnv(opts.env), timeoutMs: opts.timeoutMs, filter: opts.passthrough })
    } catch (err) {
      throw new CommandError(shown, null, String((err as Error).message ?? err))
    }
    log.debug(`  exit ${exitCode} after ${Date.now() - started} ms`)
    if (exitCode !== 0 && !opts.nothrow) throw new CommandError(shown, exitCode, '')
    return { exitCode, stdout: '', stderr: '' }
  }
  if (opts.stdout || opts.stdin) {
    let r
    try {
      r = await runStreaming(cmd, args, { cwd: opts.cwd, env: childEnv(opts.env), stdin: opts.stdin, stdout: opts.stdout, timeoutMs: opts.timeoutMs })
    } catch (err) {
      throw new CommandError(shown, null, String((err as Error).message ?? err))
    }
    log.debug(`  exit ${r.exitCode} after ${Date.now() - started} ms`)
    if (r.exitCode !== 0 && !opts.nothrow) throw new CommandError(shown, r.exitCode, redact(r.stderr))
    return r
  }
  const p = $({
    cwd: opts.cwd,
    env: childEnv(opts.env) as NodeJS.ProcessEnv,
    input: opts.input,
    nothrow: true,
    quiet: true,
    verbose: false,
    timeout: opts.timeoutMs ? `${opts.timeoutMs}ms` : undefined,
    stdio: ['pipe', 'pipe', 'pipe'],
  })`${cmd} ${args}`
  let output
  try {
    output = await p
  } catch (err) {
    // spawn failures (ENOENT for a missing binary) surface here
    throw new CommandError(shown, null, String((err as Error).message ?? err))
  }
  const result: ExecResult = { exitCode: output.exitCode ?? 1, stdout: output.stdout, stderr: output.stderr }
  log.debug(`  exit ${result.exitCode} after ${Date.now() - started} ms`)
  if (result.exitCode !== 0 && !opts.nothrow) throw new CommandError(shown, output.exitCode, redact(output.stderr))
  return result
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

/** Is this program on PATH? */
export async function which(cmd: string): Promise<boolean> {
  const r = await run('sh', ['-c', `command -v "$0" >/dev/null 2>&1`, cmd], { nothrow: true })
  return r.exitCode === 0
}
