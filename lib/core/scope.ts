// The run's scope: the streams, environment, working folder, verbosity, known secrets and process starter that one
// task run sees. A task run in-process (lib/task/task.ts runTask) gets its own, so nothing of it outlives the run;
// outside any run it is the process's own (its streams, process.env, process.cwd()). No task knowledge.
import { AsyncLocalStorage } from 'node:async_hooks'
import { readFileSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'

/** Options of one started program (lib/core/exec-stream.ts): streamed sides, or stdin given whole. */
export interface StreamOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  stdin?: Readable
  /** stdin content (small; secrets reach a child this way) */
  input?: string
  stdout?: Writable
  timeoutMs?: number
}

export interface FilterOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
  filter: (text: string) => string
  out?: Writable
  err?: Writable
}

/** How programs start: spawned by default; tests of tasks in-process answer some programs (a fake docker) themselves. */
export interface Spawner {
  /** runs the program; its exit code, captured stdout (when not streamed) and the stderr tail */
  streaming(cmd: string, args: readonly string[], o: StreamOptions): Promise<{ exitCode: number; stdout: string; stderr: string }>
  /** runs the program with the run's stdin, its output copied to the run's streams line by line through o.filter */
  filtered(cmd: string, args: readonly string[], o: FilterOptions): Promise<number>
}

export type OutStream = Writable & { isTTY?: boolean }
export type InStream = Readable & { isTTY?: boolean }

/** What redaction knows: the secret values and the matchers built from them (lib/core/redact.ts). */
export interface SecretSet {
  known: Set<string>
  pattern: RegExp | null
  literals: string[]
}

export interface Scope {
  stdout: OutStream
  stderr: OutStream
  stdin: InStream
  /** all of stdin at once (--secrets-stdin) */
  readStdin(): string
  /** the calling environment: what the shell exported */
  env: Record<string, string | undefined>
  cwd: string
  verbose: boolean
  secrets: SecretSet
  /** undefined: programs are spawned */
  spawner?: Spawner
  /** told which temp files an interrupted earlier write left behind and a write removed (lib/core/fs-atomic.ts) */
  swept?: (paths: string[]) => void
}

export const newSecretSet = (): SecretSet => ({ known: new Set(), pattern: null, literals: [] })

let processScope: Scope | undefined
const storage = new AsyncLocalStorage<Scope>()

/** The scope of the run this code belongs to, else the process's own. */
export function scope(): Scope {
  return storage.getStore() ?? (processScope ??= {
    get stdout() { return process.stdout },
    get stderr() { return process.stderr },
    get stdin() { return process.stdin },
    readStdin: () => readFileSync(0, 'utf8'),
    get env() { return process.env },
    get cwd() { return process.cwd() },
    verbose: false,
    secrets: newSecretSet(),
  })
}

/** Runs `work` (and everything it starts, awaited or not) in `s`. */
export function inScope<T>(s: Scope, work: () => T): T {
  return storage.run(s, work)
}
