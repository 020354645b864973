// Offsite settings read from the merged environment: the restic repository (STACKYARD_OFFSITE_REPOSITORY), the
// retention policy (STACKYARD_OFFSITE_KEEP), the password and the storage credentials restic reads. Pure: values in,
// settings out; ConfigError names the key and where it was set. Never returns a secret inside a message.
import { ConfigError } from '../core/errors.ts'
import { registerSecret } from '../core/redact.ts'
import type { EnvLayers } from '../env/layers.ts'
import { commaList } from '../core/format.ts'
import { settingWhere as where } from '../model/settings.ts'

export const REPOSITORY_VARIABLE = 'STACKYARD_OFFSITE_REPOSITORY'
export const KEEP_VARIABLE = 'STACKYARD_OFFSITE_KEEP'
export const PASSWORD_VARIABLE = 'STACKYARD_OFFSITE_PASSWORD'
export const DEFAULT_KEEP = 'daily=7,weekly=4,monthly=6'

/** restic's own `forget --keep-<what> N` policies. */
const KEEP_KINDS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const

/**
 * The storage credentials restic reads from its environment (S3 and compatible, Backblaze B2, Azure, Google Cloud).
 * They are passed from the env layers (shell first, then .env/.env.infisical) to restic's environment only; SFTP uses
 * the ssh keys and ~/.ssh/config of the user that runs the task.
 */
export const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE',
  'B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY', 'AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY', 'AZURE_ACCOUNT_SAS', 'GOOGLE_PROJECT_ID', 'GOOGLE_APPLICATION_CREDENTIALS',
] as const

export interface OffsiteSettings {
  /** what restic gets as RESTIC_REPOSITORY: a local path, sftp:…, s3:…, b2:…, rest:… */
  repository: string
  /** the repository as messages show it: a password inside a URL masked */
  shown: string
  /** restic forget flags, e.g. ['--keep-daily', '7', '--keep-weekly', '4'] */
  keep: string[]
  /** the policy as written, for messages */
  keepText: string
  /** the repository password, when set */
  password?: string
  /** where the password comes from (`.env:12`, `your shell`), when set */
  passwordWhere?: string
  /** the storage credentials found in the env layers, for restic's environment */
  credentials: Record<string, string>
}

type Layers = Pick<EnvLayers, 'lookup' | 'sources'>

/** `rest:https://user:pass@host/` → `rest:https://user:••••@host/` (the password is also registered for redaction). */
export function shownRepository(repository: string): string {
  return repository.replace(/(\/\/[^/@:\s]*:)([^/@\s]+)@/, (_, user: string, pass: string) => {
    registerSecret(pass)
    return `${user}••••@`
  })
}

/** STACKYARD_OFFSITE_KEEP (`daily=7,weekly=4,monthly=6`) as restic forget flags. */
export function keepFlags(text: string, key = KEEP_VARIABLE): string[] {
  const flags: string[] = []
  const seen = new Set<string>()
  for (const part of commaList(text)) {
    const m = /^([a-z]+)=(\d{1,6})$/.exec(part)
    if (!m || !(KEEP_KINDS as readonly string[]).includes(m[1]) || Number(m[2]) < 1 || seen.has(m[1]))
      throw new ConfigError(`${key}: "${part}" is not a retention rule`, { hint: `write comma-separated ${KEEP_KINDS.join('|')}=N (N ≥ 1, each once), e.g. ${DEFAULT_KEEP}` })
    seen.add(m[1])
    flags.push(`--keep-${m[1]}`, m[2])
  }
  if (!flags.length) throw new ConfigError(`${key} is empty: restic would keep nothing`, { hint: `e.g. ${KEEP_VARIABLE}=${DEFAULT_KEEP}` })
  return flags
}

/** The offsite settings, or a ConfigError (exit 2) saying what to set when no repository is configured. */
export function readOffsiteSettings(env: Layers): OffsiteSettings {
  const repository = (env.lookup(REPOSITORY_VARIABLE) ?? '').trim()
  if (!repository)
    throw new ConfigError(`${REPOSITORY_VARIABLE} is not set: there is no offsite repository to use`, {
      hint: `set it in .env: a folder (/mnt/usb/stackyard-restic), sftp:user@host:/srv/restic, s3:s3.amazonaws.com/bucket/stackyard, b2:bucket:stackyard…`,
    })
  if (/[\n\r\0]/.test(repository)) throw new ConfigError(`${where(env, REPOSITORY_VARIABLE)} holds a line break or NUL`, { hint: 'write the repository on one line' })
  const keepText = (env.lookup(KEEP_VARIABLE) ?? '').trim() || DEFAULT_KEEP
  const keep = keepFlags(keepText, where(env, KEEP_VARIABLE))
  const password = env.lookup(PASSWORD_VARIABLE) || undefined
  if (password !== undefined) registerSecret(password)
  const credentials: Record<string, string> = {}
  for (const k of CREDENTIAL_VARIABLES) {
    const v = env.lookup(k)
    if (v) credentials[k] = v
  }
  return { repository, shown: shownRepository(repository), keep, keepText, ...(password !== undefined ? { password, passwordWhere: where(env, PASSWORD_VARIABLE) } : {}), credentials }
}
