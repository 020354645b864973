// Inputs that must be refused cleanly by any task: unknown flags, bad values.
import type { HostileCase } from '../case.ts'

export const cases: HostileCase[] = [
  { name: 'an unknown flag', task: 'env.ts', args: ['--no-such-flag'], expect: { code: 2, message: /--no-such-flag/ } },
]
