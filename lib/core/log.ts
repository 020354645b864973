// Output: human logs go to stderr, data goes to stdout; every line passes through redact().
// The streams, the environment and --verbose are the run's (lib/core/scope.ts). No env files, no task knowledge. Tasks never
// call console.* directly.
import { redact } from './redact.ts'
import { scope, type OutStream } from './scope.ts'

const useColor = (stream: OutStream) => {
  const env = scope().env
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb'
}

function paint(code: number, s: string, stream: OutStream = scope().stderr): string {
  return useColor(stream) ? `\x1b[${code}m${s}\x1b[0m` : s
}
export const color = {
  dim: (s: string) => paint(2, s),
  bold: (s: string) => paint(1, s),
  red: (s: string) => paint(31, s),
  green: (s: string) => paint(32, s),
  yellow: (s: string) => paint(33, s),
  cyan: (s: string) => paint(36, s),
}

export function setVerbose(on: boolean): void {
  scope().verbose = on
}

function emit(prefix: string, message: string): void {
  const text = redact(message)
  const lines = text.split('\n')
  const pad = ' '.repeat(stripAnsi(prefix).length)
  scope().stderr.write(lines.map((l, i) => (i === 0 ? prefix : pad) + l).join('\n') + '\n')
}

export const log = {
  /** A unit of progress ("starting stack data"). */
  step: (m: string) => emit(color.cyan('◇ '), m),
  info: (m: string) => emit('  ', m),
  success: (m: string) => emit(color.green('✔ '), m),
  warn: (m: string) => emit(color.yellow('▲ '), m),
  error: (m: string) => emit(color.red('✖ '), m),
  /** Only with --verbose: commands, HTTP method/URL/status and timings, never credentials. */
  debug: (m: string) => {
    if (scope().verbose) emit(color.dim('· '), color.dim(m))
  },
}
export type Logger = typeof log

/** Data for the user or a script (tables, JSON, a value asked for with --reveal): stdout. */
export function out(data: unknown): void {
  const text = typeof data === 'string' ? data : JSON.stringify(data, null, 2)
  scope().stdout.write(redact(text) + (text.endsWith('\n') ? '' : '\n'))
}

/** Write to stdout without redaction: only for a value the user explicitly asked to see. */
export function outUnredacted(text: string): void {
  scope().stdout.write(text + (text.endsWith('\n') ? '' : '\n'))
}

export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '')
}
