// Error types and exit codes: no I/O, no env reads. Every failure a user can meet is one of these,
// carrying a hint that says what to do; lib/task/task.ts is the one place that catches and prints them.

export const EXIT = { ok: 0, failure: 1, usage: 2, cancelled: 130 } as const

export interface ErrorDetails {
  hint?: string
  cause?: unknown
}

/** Base class: a message for the user, an optional hint, and the exit code it maps to. */
export class StackyardError extends Error {
  hint?: string
  exitCode: number = EXIT.failure
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = new.target.name
    this.hint = details.hint
  }
}

/** Bad command line: unknown flag, missing or invalid value. Exit 2. */
export class UsageError extends StackyardError {
  exitCode = EXIT.usage
}

/** Invalid configuration: env files, compose metadata, answers files. Exit 2. Names where. */
export class ConfigError extends StackyardError {
  exitCode = EXIT.usage
  file?: string
  line?: number
  field?: string
  constructor(message: string, details: ErrorDetails & { file?: string; line?: number; field?: string } = {}) {
    super(message, details)
    this.file = details.file
    this.line = details.line
    this.field = details.field
  }
  /** `file:line: field: message`, as far as known. */
  where(): string {
    const loc = this.file ? (this.line ? `${this.file}:${this.line}` : this.file) : ''
    return [loc, this.field].filter(Boolean).join(': ')
  }
}

/** A runtime failure (a check failed, a service is unhealthy, an API refused). Exit 1. */
export class FailureError extends StackyardError {}

/** A child process exited non-zero where that is a failure. Exit 1. */
export class CommandError extends StackyardError {
  command: string
  code: number | null
  stderrTail: string
  constructor(command: string, code: number | null, stderr: string, details: ErrorDetails = {}) {
    const tail = stderr.trimEnd().split('\n').slice(-12).join('\n')
    super(`command failed (exit ${code ?? 'signal'}): ${command}${tail ? `\n${tail}` : ''}`, details)
    this.command = command
    this.code = code
    this.stderrTail = tail
  }
}

/** The user cancelled (Ctrl-C, a cancelled prompt, a refused confirmation). Exit 130. */
export class CancelledError extends StackyardError {
  exitCode = EXIT.cancelled
  constructor(message = 'cancelled', details: ErrorDetails = {}) {
    super(message, details)
  }
}
