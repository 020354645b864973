// Prompts: @clack/prompts behind a TTY gate; a cancelled prompt becomes CancelledError (exit 130).
// No prompt is ever shown without a terminal: the non-interactive path must come from flags.
import type { Readable, Writable } from 'node:stream'
import { CancelledError, UsageError } from './errors.ts'
import { scope } from './scope.ts'

export interface Choice<T extends string> {
  value: T
  label?: string
  hint?: string
}

export interface Ask {
  text(o: { message: string; placeholder?: string; initialValue?: string; defaultValue?: string; validate?: (v: string) => string | undefined }): Promise<string>
  /** masked input, for tokens and passwords; the value is never echoed */
  password(o: { message: string; validate?: (v: string) => string | undefined }): Promise<string>
  select<T extends string>(o: { message: string; options: Choice<T>[]; initialValue?: T }): Promise<T>
  multiselect<T extends string>(o: { message: string; options: Choice<T>[]; initialValues?: T[]; required?: boolean }): Promise<T[]>
  confirm(o: { message: string; initialValue?: boolean }): Promise<boolean>
}

export function isInteractiveTerminal(): boolean {
  const s = scope()
  return Boolean(s.stdin.isTTY) && Boolean(s.stderr.isTTY) && !s.env.CI
}

// @clack/prompts is loaded on the first prompt: runs without a terminal never pay for it
async function ask<T>(prompt: (clack: typeof import('@clack/prompts')) => Promise<T | symbol>): Promise<T> {
  const clack = await import('@clack/prompts')
  const v = await prompt(clack)
  if (clack.isCancel(v)) throw new CancelledError()
  return v as T
}

/** clack prompts on the given streams (default: stdin, and stderr so stdout stays data-only). */
export function clackAsk(io: { input?: Readable; output?: Writable } = {}): Ask {
  const s = scope()
  const common = { input: io.input ?? (s.stdin === process.stdin ? undefined : s.stdin), output: io.output ?? s.stderr }
  const v = (fn?: (v: string) => string | undefined) => (fn ? (x: string | undefined) => fn(x ?? '') : undefined)
  return {
    text: (o) => ask<string>((c) => c.text({ ...common, ...o, validate: v(o.validate) })),
    password: (o) => ask<string>((c) => c.password({ ...common, ...o, validate: v(o.validate) })),
    select: <T extends string>(o: { message: string; options: Choice<T>[]; initialValue?: T }) =>
      ask<T>((c) => c.select<T>({ ...common, ...o, options: o.options as never })),
    multiselect: <T extends string>(o: { message: string; options: Choice<T>[]; initialValues?: T[]; required?: boolean }) =>
      ask<T[]>((c) => c.multiselect<T>({ ...common, ...o, options: o.options as never })),
    confirm: (o) => ask<boolean>((c) => c.confirm({ ...common, ...o })),
  }
}

/** The Ask used when there is no terminal: any attempt to prompt is a usage error naming the flag. */
export function noTerminalAsk(flagFor: (message: string) => string | undefined = () => undefined): Ask {
  const refuse = (message: string): never => {
    const flag = flagFor(message)
    throw new UsageError(`cannot ask "${message}": no terminal (stdin is not a TTY, or --no-interactive)`, {
      hint: flag ? `pass ${flag}` : 'pass the value as a flag, or run in a terminal',
    })
  }
  return {
    text: async (o) => refuse(o.message),
    password: async (o) => refuse(o.message),
    select: async (o) => refuse(o.message),
    multiselect: async (o) => refuse(o.message),
    confirm: async (o) => refuse(o.message),
  }
}
