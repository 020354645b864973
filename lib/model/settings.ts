// Platform settings read from the merged environment (STACKYARD_ENVIRONMENT, DOMAIN, profiles…),
// validated with one error per bad value naming where it came from. Pure: takes values, reads no files.
import { ConfigError } from '../core/errors.ts'
import type { EnvLayers } from '../env/layers.ts'
import { DOMAIN, ENGINES, ENVIRONMENTS, HARDWARE_PROFILES, type Engine, type Environment, type HardwareProfile } from './x-fields.ts'
import { commaList } from '../core/format.ts'

export interface Settings {
  environment: Environment
  /** base domain; required in the public environment */
  domain?: string
  profile: HardwareProfile
  /** optional compose profiles switched on (STACKYARD_PROFILES) */
  profiles: string[]
  /** the stacks this installation runs (STACKYARD_STACKS, with the stacks they come after); unset or empty: all */
  stacks?: string[]
  bindAddress: string
  /** STACKYARD_ENGINE: compose (default) or swarm */
  engine: Engine
  /**
   * update --apply: how old the last backup of a stateful service may be before recreating it is refused, in ms
   * (STACKYARD_UPDATE_BACKUP_MAX_AGE, default 24h); null: the gate is off
   */
  updateBackupMaxAge: number | null
}

/** STACKYARD_UPDATE_BACKUP_MAX_AGE when unset */
export const DEFAULT_UPDATE_BACKUP_MAX_AGE = '24h'
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** A duration such as `90m`, `24h`, `7d`, `1w`, `1d12h` in ms; `off` is null; anything else undefined. */
export function parseDuration(text: string): number | null | undefined {
  const t = text.trim().toLowerCase()
  if (t === 'off') return null
  if (!/^(\d+[smhdw])+$/.test(t)) return undefined
  let ms = 0
  for (const [, n, unit] of t.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit]
  return ms > 0 ? ms : undefined
}

/** `KEY (.env:3)` or `KEY (from your shell)`: where a setting's value came from, for messages. */
export function settingWhere(env: Pick<EnvLayers, 'sources'> | undefined, key: string): string {
  const s = env?.sources[key]
  if (!s) return key
  if (s.kind === 'shell') return `${key} (from your shell)`
  return `${key} (${s.file}${s.line ? `:${s.line}` : ''})`
}

export function readSettings(values: Record<string, string | undefined>, env?: Pick<EnvLayers, 'sources'>, overrides: Partial<Pick<Settings, 'environment' | 'profile' | 'engine'>> = {}): Settings {
  const environment = (overrides.environment ?? (values.STACKYARD_ENVIRONMENT || 'private')) as Environment
  if (!ENVIRONMENTS.includes(environment))
    throw new ConfigError(`${settingWhere(env, 'STACKYARD_ENVIRONMENT')}: "${environment}" is not private or public`, { hint: 'set STACKYARD_ENVIRONMENT=private or public in .env' })
  const profile = (overrides.profile ?? (values.STACKYARD_PROFILE || 'cpu')) as HardwareProfile
  if (!HARDWARE_PROFILES.includes(profile))
    throw new ConfigError(`${settingWhere(env, 'STACKYARD_PROFILE')}: "${profile}" is not one of ${HARDWARE_PROFILES.join(', ')}`, { hint: 'set STACKYARD_PROFILE in .env' })
  const domain = (values.DOMAIN ?? '').trim().toLowerCase() || undefined
  if (domain && !DOMAIN.test(domain))
    throw new ConfigError(`${settingWhere(env, 'DOMAIN')}: "${domain}" is not a domain name`, { hint: 'use the bare domain, e.g. example.com (no scheme, no port, no path)' })
  if (environment === 'public' && !domain)
    throw new ConfigError('the public environment needs DOMAIN', { hint: 'set DOMAIN=example.com in .env (or run npx zx tasks/setup.ts)' })
  const profiles = commaList(values.STACKYARD_PROFILES)
  const bindAddress = values.LOCAL_BIND_ADDRESS || '127.0.0.1'
  const stacks = commaList(values.STACKYARD_STACKS)
  const maxAge = values.STACKYARD_UPDATE_BACKUP_MAX_AGE || DEFAULT_UPDATE_BACKUP_MAX_AGE
  const updateBackupMaxAge = parseDuration(maxAge)
  if (updateBackupMaxAge === undefined)
    throw new ConfigError(`${settingWhere(env, 'STACKYARD_UPDATE_BACKUP_MAX_AGE')}: "${maxAge}" is not a duration`, { hint: 'a number and a unit (s, m, h, d, w), e.g. 24h, 7d or 1d12h; off turns the backup check of update --apply off' })
  const engine = readEngine(values, env, overrides.engine)
  return { environment, domain, profile, profiles, bindAddress, engine, updateBackupMaxAge, ...(stacks.length ? { stacks } : {}) }
}

/** STACKYARD_ENGINE (or --engine): compose unless set; anything else is a configuration error naming its source. */
export function readEngine(values: Record<string, string | undefined>, env?: Pick<EnvLayers, 'sources'>, override?: string): Engine {
  const engine = (override ?? (values.STACKYARD_ENGINE || 'compose')) as Engine
  if (!ENGINES.includes(engine))
    throw new ConfigError(`${override ? '--engine' : settingWhere(env, 'STACKYARD_ENGINE')}: "${engine}" is not ${ENGINES.join(' or ')}`, { hint: 'set STACKYARD_ENGINE=compose or swarm in .env' })
  return engine
}
