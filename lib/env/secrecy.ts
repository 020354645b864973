// Which env values are secret: decided by where a value comes from and what is declared here or in x-secrets, never by a key's name.
// The rule: every value from .env, .env.infisical and the Infisical API is secret unless its key is a setting declared
// non-secret below; .env.global (committed defaults) and the derived layer hold no secrets; a shell value is secret when
// its key is declared secret (x-secrets or TOOL_SECRETS below) or is secret in any file layer. This is the ONE place
// that declares non-secret settings. Pure: no I/O.
import type { EnvLayers, EnvSource } from './layers.ts'

/** Settings that are not secrets wherever they are set: shown in clear and never masked inside other text. */
export const NON_SECRET_SETTINGS: ReadonlySet<string> = new Set([
  // platform settings (.env.global documents each)
  'STACKYARD_ENVIRONMENT', 'STACKYARD_PROFILE', 'STACKYARD_PROFILES', 'STACKYARD_STACKS', 'STACKYARD_CONTEXTS', 'STACKYARD_BACKUP_IMAGE', 'STACKYARD_ENGINE',
  'STACKYARD_UPDATE_BACKUP_MAX_AGE',
  'STACKYARD_BACKUP_SCHEDULE', 'STACKYARD_BACKUP_KEEP', 'STACKYARD_BACKUP_INCLUDE_SECRETS', 'STACKYARD_BACKUP_ENCRYPT', 'STACKYARD_VERIFY_SCHEDULE',
  'STACKYARD_OFFSITE_REPOSITORY', 'STACKYARD_OFFSITE_KEEP', // where and how long the offsite copies live (lib/backup/offsite-settings.ts)
  'DOMAIN', 'LOCAL_BIND_ADDRESS', 'TZ', 'CADDY_LOG_LEVEL', 'OLLAMA_PULL_MODELS',
  // Infisical: where the secrets live, not the secrets (the client id and secret are declared secret in x-secrets)
  'INFISICAL_ENVIRONMENT', 'INFISICAL_SECRET_PATH', 'INFISICAL_PROJECT_ID', 'INFISICAL_API_URL', 'INFISICAL_SITE_URL',
  'INFISICAL_MODES', 'INFISICAL_SYNC_INCLUDE', 'INFISICAL_SYNC_EXCLUDE',
  // Cloudflare: identifiers and policy, not credentials (the API token and tunnel token are declared secret in x-secrets)
  'CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_ZONE_ID', 'CLOUDFLARE_TUNNEL_NAME', 'CLOUDFLARE_TUNNEL_ID', 'CLOUDFLARE_ACCESS_EMAILS',
  'CLOUDFLARE_ACCESS_EMAIL_DOMAIN', 'CLOUDFLARE_ACCESS_IDP_ID', 'CLOUDFLARE_MODES', 'CLOUDFLARE_EMAIL', 'CLOUDFLARE_API_BASE_URL',
  'CLOUDFLARE_AUTH_DOMAIN', // the team's Access login domain, written by cloudflare/access.ts
])
/** Families of non-secret settings: STACKYARD_HOST_<context> assigns stacks to a Docker context; <SUB>_ACCESS_AUD is
 *  the public audience tag of a route's Cloudflare Access application (lib/cloudflare/config.ts writes it). */
const NON_SECRET_PREFIXES = ['STACKYARD_HOST_']
const NON_SECRET_SUFFIXES = ['_ACCESS_AUD']

/** Secrets the tooling itself reads (from the shell too) that no stack declares in x-secrets. */
export const TOOL_SECRETS: ReadonlySet<string> = new Set([
  'STACKYARD_BACKUP_PASSPHRASE', 'INFISICAL_ADMIN_PASSWORD', 'INFISICAL_ADMIN_TOKEN',
  // the restic repository's password and the storage credentials restic reads (lib/backup/restic.ts passes them on)
  'STACKYARD_OFFSITE_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY', 'AZURE_ACCOUNT_KEY', 'AZURE_ACCOUNT_SAS',
])

/** The file layers whose every value is secret unless declared otherwise. */
export const SECRET_FILES: ReadonlySet<string> = new Set(['.env', '.env.infisical'])

export type Declared = ReadonlySet<string> | { has(key: string): boolean }

export function isNonSecretSetting(key: string, declared?: Declared): boolean {
  if (declared?.has(key) || TOOL_SECRETS.has(key)) return false
  return (
    NON_SECRET_SETTINGS.has(key) ||
    NON_SECRET_PREFIXES.some((p) => key.startsWith(p) && key.length > p.length) ||
    NON_SECRET_SUFFIXES.some((s) => key.endsWith(s) && key.length > s.length)
  )
}

/** Whether `key` is secret regardless of where its value comes from (x-secrets or the tooling's own secrets). */
export function isDeclaredSecret(key: string, declared?: Declared): boolean {
  return Boolean(declared?.has(key)) || TOOL_SECRETS.has(key)
}

/** Whether a value set by `source` for `key` is secret (the Infisical API counts as a secret source). */
export function isSecretFrom(key: string, source: EnvSource | 'infisical', declared?: Declared): boolean {
  if (isDeclaredSecret(key, declared)) return true
  if (isNonSecretSetting(key, declared)) return false
  if (source === 'infisical') return true
  return source.kind === 'file' && SECRET_FILES.has(source.file ?? '')
}

/** Whether a key of the merged environment is secret: declared so, or set by a secret layer (whichever layer wins). */
export function isSecretKey(key: string, env: Pick<EnvLayers, 'history'>, declared?: Declared): boolean {
  if (isDeclaredSecret(key, declared)) return true
  return (env.history[key] ?? []).some((s) => isSecretFrom(key, s, declared))
}

/**
 * Every value to mask: each layer's value of a secret key, not only the one that wins (a .env value shadowed by the
 * shell is masked too), and shell values of declared secrets.
 */
export function secretValues(env: Pick<EnvLayers, 'history' | 'layerValues' | 'shell'>, declared?: Declared): string[] {
  const out: string[] = []
  const shell = env.shell
  for (const { key, value, source } of env.layerValues) if (isSecretKey(key, env, declared) || isSecretFrom(key, source, declared)) out.push(value)
  for (const [key, value] of Object.entries(shell)) {
    if (value === undefined) continue
    if (isDeclaredSecret(key, declared) || (key in env.history && isSecretKey(key, env, declared))) out.push(value)
  }
  return out
}
