// Declared secrets under the swarm engine: which ones a service's environment takes (from the base file as written),
// and the content-hashed Docker secret name of a value. Pure: no I/O.
import { createHash } from 'node:crypto'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v)

export interface SecretUse {
  /** the declared secret (x-secrets key); also the file name under /run/secrets */
  key: string
  /** the Docker secret: <project>_<KEY>_<12 hex of sha256(value)> (a Docker secret cannot change, so its name does) */
  name: string
  services: string[]
}

export interface EnvSecret {
  service: string
  variable: string
  key: string
}

/** Docker secret name: at most 64 characters of [a-zA-Z0-9_.-] */
export function secretName(project: string, key: string, value: string): string {
  return `${project}_${key}_${createHash('sha256').update(value).digest('hex').slice(0, 12)}`
}

/** `${KEY}`, `${KEY:?msg}`, `${KEY:-x}`…: the whole value is one variable reference */
const REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:]?[-?+][\s\S]*)?\}$/

/** the declared secrets a service's environment mentions, by variable (from the base file as written); `whole` when the value is only that reference */
export function secretVariables(raw: Obj, secretKeys: ReadonlySet<string>): Array<{ variable: string; key: string; whole: boolean }> {
  const env = raw.environment
  const entries: Array<[string, unknown]> = Array.isArray(env)
    ? env.map((e) => { const s = String(e); const i = s.indexOf('='); return [i < 0 ? s : s.slice(0, i), i < 0 ? undefined : s.slice(i + 1)] })
    : Object.entries(isObj(env) ? env : {})
  return entries.flatMap(([variable, v]): Array<{ variable: string; key: string; whole: boolean }> => {
    if (typeof v !== 'string') return []
    const whole = REF.exec(v.trim())
    if (whole) return secretKeys.has(whole[1]) ? [{ variable, key: whole[1], whole: true }] : []
    return [...new Set([...v.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]))].filter((k) => secretKeys.has(k)).map((key) => ({ variable, key, whole: false }))
  })
}

