// Child processes, started directly from an argv array (never through a shell: no value is ever parsed as shell
// syntax), with streamed sides when asked: stdout into a Writable (a dump into a backup file) or stdin from a Readable
// (a dump into a restore), never buffered whole in memory and never through argv. lib/core/exec.ts's runner starts every
// command here; stderr is captured (its tail) for errors. No task knowledge.
import { spawn } from 'node:child_process'
import { pipeline } from 'node:stream/promises'
import { Readable, type Writable } from 'node:stream'
import { scope, type FilterOptions, type StreamOptions } from './scope.ts'

export type { StreamOptions } from './scope.ts'

const STDERR_KEEP = 64 * 1024

/** Runs the program; resolves with its exit code, captured stdout (when not streamed) and the stderr tail. */
export function runStreaming(cmd: string, args: readonly string[], o: StreamOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const s = scope()
  if (s.spawner) return s.spawner.streaming(cmd, args, o)
  return spawnStreaming(cmd, args, { ...o, cwd: o.cwd ?? s.cwd })
}

/** runStreaming's spawned program (what a spawner falls back to for programs it does not answer itself) */
export function spawnStreaming(cmd: string, args: readonly string[], o: StreamOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: o.cwd, env: o.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'], shell: false })
    let stderr = ''
    let stdout = ''
    let failed: Error | undefined
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP)
    })
    const out = !child.stdout ? Promise.resolve() : o.stdout ? pipeline(child.stdout, o.stdout) : new Promise<void>((ok) => {
      child.stdout!.setEncoding('utf8')
      child.stdout!.on('data', (d: string) => (stdout += d))
      child.stdout!.on('end', ok)
    })
    // a child that exits without reading all of stdin closes the pipe: EPIPE is its answer, not ours to report
    const quietPipe = (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') failed = err
    }
    const stdin = child.stdin!
    const input = o.stdin ? pipeline(o.stdin, stdin).catch(quietPipe) : o.input !== undefined ? pipeline(Readable.from([Buffer.from(o.input)]), stdin).catch(quietPipe) : (stdin.end(), Promise.resolve())
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      Promise.all([out, input]).then(
        () => (failed ? reject(failed) : resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr })),
        (err: unknown) => reject(err),
      )
    })
  })
}

/**
 * Runs the program with the run's stdin and its stdout/stderr copied to the run's line by line through `filter`
 * (redaction, control sequences): what a user watches (logs, a compose subcommand) passes the same masking as every log
 * line. A partial line (a prompt) is flushed, filtered, after a short pause. Resolves with the exit code.
 */
export function runFiltered(cmd: string, args: readonly string[], o: FilterOptions): Promise<number> {
  const s = scope()
  if (s.spawner) return s.spawner.filtered(cmd, args, o)
  return spawnFiltered(cmd, args, { ...o, cwd: o.cwd ?? s.cwd })
}

/** runFiltered's spawned program; the process's own stdin is inherited, a run's own is piped in */
export function spawnFiltered(cmd: string, args: readonly string[], o: FilterOptions): Promise<number> {
  const s = scope()
  const ownStdin = s.stdin === process.stdin
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: o.cwd, env: o.env as NodeJS.ProcessEnv, stdio: [ownStdin ? 'inherit' : 'pipe', 'pipe', 'pipe'], shell: false })
    if (!ownStdin) s.stdin.pipe(child.stdin!).on('error', () => {})
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined
    const pipes = [lineCopy(child.stdout!, o.out ?? s.stdout, o.filter), lineCopy(child.stderr!, o.err ?? s.stderr, o.filter)]
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      Promise.all(pipes).then(() => resolve(code ?? (signal ? 128 : 1)), reject)
    })
  })
}

function lineCopy(from: Readable, to: Writable, filter: (text: string) => string): Promise<void> {
  return new Promise((resolve) => {
    let pending = ''
    let idle: NodeJS.Timeout | undefined
    const flush = () => {
      if (pending) to.write(filter(pending))
      pending = ''
    }
    from.setEncoding('utf8')
    from.on('data', (d: string) => {
      if (idle) clearTimeout(idle)
      pending += d
      const cut = pending.lastIndexOf('\n')
      if (cut !== -1) {
        to.write(filter(pending.slice(0, cut + 1)))
        pending = pending.slice(cut + 1)
      }
      if (pending) idle = setTimeout(flush, 100)
    })
    from.on('end', () => {
      if (idle) clearTimeout(idle)
      flush()
      resolve()
    })
  })
}
