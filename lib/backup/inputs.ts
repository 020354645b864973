// What a backup or restore needs from the user and the checkout: the archive passphrase (environment or a masked
// prompt, never argv; registered for redaction) and the Stackyard version and commit recorded in the manifest.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../core/errors.ts'
import { MIN_PASSPHRASE } from './archive.ts'
import { registerSecret } from '../core/redact.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'
import type { StackCtx } from '../docker/platform.ts'

export const PASSPHRASE_VARIABLE = 'STACKYARD_BACKUP_PASSPHRASE'

/**
 * The archive passphrase: STACKYARD_BACKUP_PASSPHRASE from the environment (through ctx.env: the shell first), else a
 * masked prompt (asked twice when encrypting); never a flag (argv is visible to every user of the machine). Registered
 * for redaction.
 */
export async function backupPassphrase(ctx: Pick<TaskContext<FlagDecls>, 'ask' | 'interactive' | 'env'>, o: { confirm: boolean }): Promise<string> {
  let value = ctx.env.lookup(PASSPHRASE_VARIABLE)
  if (value === undefined) {
    if (!ctx.interactive) throw new UsageError(`the archive passphrase is needed and there is no terminal to ask for it`, { hint: `set ${PASSPHRASE_VARIABLE} in the environment (never on the command line)` })
    value = await ctx.ask.password({ message: 'Archive passphrase', validate: (v) => (v.length < MIN_PASSPHRASE ? `at least ${MIN_PASSPHRASE} characters` : undefined) })
    if (o.confirm && (await ctx.ask.password({ message: 'The same passphrase again' })) !== value) throw new UsageError('the two passphrases differ', { hint: 'run again' })
  }
  if (o.confirm && value.length < MIN_PASSPHRASE) throw new UsageError(`${PASSPHRASE_VARIABLE} is shorter than ${MIN_PASSPHRASE} characters`, { hint: 'use a long passphrase (several words); it is the only key to the archive' })
  registerSecret(value)
  return value
}

/** package.json's version and the git commit of this checkout (null outside git). */
export async function stackyardVersion(ctx: Pick<StackCtx, 'root' | 'exec'>): Promise<{ version: string; commit: string | null }> {
  const version = (JSON.parse(readFileSync(join(ctx.root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown'
  const r = await ctx.exec('git', ['rev-parse', 'HEAD'], { cwd: ctx.root, nothrow: true }).catch(() => ({ exitCode: 1, stdout: '' }))
  return { version, commit: r.exitCode === 0 && /^[0-9a-f]{40}$/.test(r.stdout.trim()) ? r.stdout.trim() : null }
}
