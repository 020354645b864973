// Test helper: a fake prompt layer (lib/core/prompt.ts Ask) with queued answers that records what was asked. An unexpected
// prompt fails the test; CANCEL answers a prompt the way Ctrl-C does (CancelledError). Never used by product code.
import { CancelledError } from '../../lib/core/errors.ts'
import type { Ask } from '../../lib/core/prompt.ts'

export const CANCEL = Symbol('cancel')

export interface Asked {
  kind: 'text' | 'password' | 'select' | 'multiselect' | 'confirm'
  message: string
  /** the initial value / values the prompt offered */
  initial?: unknown
  /** the choices of a select or multiselect */
  options?: string[]
}

export interface FakeAsk {
  ask: Ask
  asked: Asked[]
  /** answers not used yet */
  remaining(): unknown[]
}

export function fakeAsk(answers: unknown[] = []): FakeAsk {
  const queue = [...answers]
  const asked: Asked[] = []
  const next = (a: Asked, validate?: (v: string) => string | undefined): never | unknown => {
    asked.push(a)
    if (!queue.length) throw new Error(`unexpected prompt: ${a.kind} "${a.message}"`)
    const v = queue.shift()
    if (v === CANCEL) throw new CancelledError()
    if (validate && typeof v === 'string') {
      const problem = validate(v)
      if (problem) throw new Error(`the queued answer "${v}" fails the prompt's validation: ${problem}`)
    }
    return v
  }
  const ask: Ask = {
    text: async (o) => next({ kind: 'text', message: o.message, initial: o.initialValue }, o.validate) as string,
    password: async (o) => next({ kind: 'password', message: o.message }, o.validate) as string,
    select: async (o) => next({ kind: 'select', message: o.message, initial: o.initialValue, options: o.options.map((x) => x.value) }) as never,
    multiselect: async (o) => next({ kind: 'multiselect', message: o.message, initial: o.initialValues, options: o.options.map((x) => x.value) }) as never,
    confirm: async (o) => next({ kind: 'confirm', message: o.message, initial: o.initialValue }) as boolean,
  }
  return { ask, asked, remaining: () => [...queue] }
}
