// One hostile input: what is planted in a temporary copy of the repository, the task it is run through, and what
// must come out: the exit code, a one-line message (no stack trace, no "unexpected error"), no changed file and no
// secret in the output. The corpus is every file under cases/; corpus.test.ts runs them all.
import type { TempRepo } from '../helpers/repo.ts'

export interface HostileCase {
  /** what the input is, in a few words (shown as the test name) */
  name: string
  /** the task file under tasks/, e.g. 'env.ts' or '00-infrastructure/infisical/push.ts' */
  task: string
  args?: string[]
  /** files written into the copy before the run (relative paths; .env files get mode 0600) */
  files?: Record<string, string | Buffer>
  /** anything else to prepare (a FIFO, a symlink, a fake server); may return env for the run */
  setup?: (repo: TempRepo) => void | Record<string, string> | Promise<void | Record<string, string>>
  /** undoes what setup started (a fake server), after the run, pass or fail */
  teardown?: () => void | Promise<void>
  env?: Record<string, string>
  input?: string
  /** for a case that could block the whole process (a FIFO, a device, a runaway pattern): it runs as a process, killed
   *  after this long; every other case runs in-process and must end within 30 s */
  timeoutMs?: number
  expect: {
    code: number
    /** matched against the first line of stderr that starts with ✖ (the error line) */
    message: RegExp
  }
  /** values that must not appear anywhere in stdout or stderr */
  secrets?: string[]
  /** files (relative) whose bytes and mode must be as before the run; default: every file the case planted */
  unchanged?: string[]
}
