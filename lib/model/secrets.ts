// Secret generation and checking from the registry's x-secrets declarations: pure functions over
// values (no file I/O); the caller writes the plan's changes through the env-file editor.
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import { UsageError } from '../core/errors.ts'
import type { SecretDecl } from './registry.ts'
import type { SecretSpec } from './x-fields.ts'
import { MAX_PATTERN_INPUT } from '../core/safe-pattern.ts'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const URL_SAFE = /^[A-Za-z0-9._~-]+$/

export function randomPassword(length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)] // randomInt is unbiased
  return out
}

/** Makes a fresh value for a generated secret. `values` supplies the sources of derived secrets. */
export function generateSecret(spec: SecretSpec, values: Record<string, string | undefined>, now = new Date()): string {
  switch (spec.format) {
    case 'hex':
      return randomBytes(spec.bytes).toString('hex')
    case 'base64':
      return randomBytes(spec.bytes).toString('base64')
    case 'base64url':
      return randomBytes(spec.bytes).toString('base64url')
    case 'password':
      return randomPassword(spec.length)
    case 'uuid':
      return randomUUID()
    case 'jwt': {
      const key = values[spec.secret]
      if (!key) throw new Error(`cannot sign: ${spec.secret} has no value`)
      const iat = Math.floor(now.getTime() / 1000)
      return signJwt({ ...spec.claims, iat, exp: iat + spec.expires_days * 86400 }, key)
    }
    case 'external':
      throw new Error('external secrets are supplied by the user, not generated')
  }
}

export function signJwt(payload: Record<string, unknown>, key: string): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`
  return `${head}.${createHmac('sha256', Buffer.from(key, 'utf8')).update(head).digest('base64url')}`
}

/** Verifies an HS256 JWT's signature; returns its payload, or undefined when it does not verify. */
export function verifyJwt(token: string, key: string): Record<string, unknown> | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const expected = createHmac('sha256', Buffer.from(key, 'utf8')).update(`${parts[0]}.${parts[1]}`).digest()
  const given = Buffer.from(parts[2], 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'))
    if (header.alg !== 'HS256') return undefined
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

/** Why a value does not fit its declaration, or undefined when it does. Never includes the value. */
export function checkSecret(spec: SecretSpec, value: string | undefined, values: Record<string, string | undefined>, now = new Date()): string | undefined {
  if (value === undefined || value === '') return spec.format === 'external' && spec.optional ? undefined : 'missing'
  switch (spec.format) {
    case 'hex':
      return new RegExp(`^[0-9a-fA-F]{${spec.bytes * 2}}$`).test(value) ? undefined : `must be ${spec.bytes * 2} hex characters (${spec.bytes} bytes), has ${value.length} characters`
    case 'base64': {
      const ok = /^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, 'base64').length === spec.bytes
      return ok ? undefined : `must be base64 of ${spec.bytes} bytes (${Math.ceil(spec.bytes / 3) * 4} characters)`
    }
    case 'base64url': {
      const ok = /^[A-Za-z0-9_-]+$/.test(value) && Buffer.from(value, 'base64url').length === spec.bytes
      return ok ? undefined : `must be unpadded base64url of ${spec.bytes} bytes`
    }
    case 'password':
      if ([...value].length < 22) return `too short: ${[...value].length} characters, at least 22 needed (128 bits)`
      return URL_SAFE.test(value) ? undefined : 'contains characters that are not safe in URLs (use A-Z a-z 0-9 . _ ~ -)'
    case 'uuid':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) ? undefined : 'must be a UUID'
    case 'jwt':
      return jwtProblem(spec, value, values, now)
    case 'external':
      if (!spec.pattern) return undefined
      // the pattern is checked when the registry loads; the bound keeps even a slow one from running long
      if (value.length > MAX_PATTERN_INPUT) return `too long to check against ${spec.pattern} (${value.length} characters, at most ${MAX_PATTERN_INPUT})`
      if (!new RegExp(spec.pattern).test(value)) return `does not match ${spec.pattern}`
      return undefined
  }
}

function jwtProblem(spec: Extract<SecretSpec, { format: 'jwt' }>, value: string, values: Record<string, string | undefined>, now: Date): string | undefined {
  const key = values[spec.secret]
  if (!key) return `cannot be checked: ${spec.secret} is missing`
  const payload = verifyJwt(value, key)
  if (!payload) return `is not signed with the current ${spec.secret}`
  for (const [k, v] of Object.entries(spec.claims)) if (payload[k] !== v) return `claim ${k} is not ${JSON.stringify(v)}`
  if (typeof payload.exp === 'number' && payload.exp * 1000 <= now.getTime()) return 'has expired'
  return undefined
}

export type SecretAction = 'create' | 'keep' | 'rotate' | 'rederive' | 'ask' | 'invalid' | 'optional'

export interface SecretPlanItem {
  key: string
  stack: string
  format: SecretSpec['format']
  action: SecretAction
  /** why: the format problem for `invalid`, the source for `rederive`, the description for `ask` */
  reason?: string
}

export interface SecretPlan {
  items: SecretPlanItem[]
  /** new values to write (key → value); empty when nothing changes */
  changes: Record<string, string>
}

/**
 * What `secrets generate` does: create what is missing, keep what exists (even when it does not fit its
 * format: an existing key may encrypt data; that is reported, and --rotate replaces it), rotate the keys
 * asked for, and re-sign derived JWTs whose source changed or that no longer verify.
 */
export function planSecrets(decls: Iterable<SecretDecl>, current: Record<string, string | undefined>, opts: { rotate?: readonly string[]; now?: Date } = {}): SecretPlan {
  const list = [...decls]
  const byKey = new Map(list.map((d) => [d.key, d]))
  const rotate = new Set(opts.rotate ?? [])
  for (const key of rotate) {
    const d = byKey.get(key)
    if (!d) throw new UsageError(`--rotate ${key}: not a declared secret`, { hint: `declared secrets: ${list.map((x) => x.key).join(', ')}` })
    if (d.spec.format === 'external') throw new UsageError(`--rotate ${key}: it is supplied by you, not generated`, { hint: `set a new value in .env (or through setup)` })
    if (d.spec.rotate?.method === 'refuse') throw new UsageError(`--rotate ${key}: it cannot be replaced in place: ${d.spec.rotate.reason}`, { hint: d.spec.rotate.procedure })
  }
  // derived secrets after their sources
  const ordered = [...list.filter((d) => d.spec.format !== 'jwt'), ...list.filter((d) => d.spec.format === 'jwt')]
  const values: Record<string, string | undefined> = { ...current }
  const changes: Record<string, string> = {}
  const items: SecretPlanItem[] = []
  for (const d of ordered) {
    const { key, spec } = d
    const value = current[key]
    const base = { key, stack: d.stack, format: spec.format }
    if (spec.format === 'external') {
      if (value) items.push({ ...base, action: 'keep' })
      else items.push({ ...base, action: spec.optional ? 'optional' : 'ask', reason: spec.description })
      continue
    }
    if (spec.format === 'jwt') {
      const sourceChanged = spec.secret in changes
      const problem = value ? checkSecret(spec, value, values, opts.now) : 'missing'
      if (!value || rotate.has(key) || sourceChanged || problem) {
        values[key] = changes[key] = generateSecret(spec, values, opts.now)
        items.push({ ...base, action: !value ? 'create' : rotate.has(key) ? 'rotate' : 'rederive', reason: !value ? undefined : sourceChanged ? `${spec.secret} changed` : problem })
      } else items.push({ ...base, action: 'keep' })
      continue
    }
    if (!value || rotate.has(key)) {
      values[key] = changes[key] = generateSecret(spec, values, opts.now)
      items.push({ ...base, action: value ? 'rotate' : 'create' })
      continue
    }
    const problem = checkSecret(spec, value, values, opts.now)
    items.push({ ...base, action: problem ? 'invalid' : 'keep', reason: problem })
  }
  return { items, changes }
}
