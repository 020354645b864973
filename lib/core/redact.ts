// Secret redaction: the run's set of known secret values (lib/core/scope.ts) and the masking rules; no I/O.
// Every line lib/core/log.ts prints and every dry-run preview passes through redact().
import { scope } from './scope.ts'

/** Values shorter than this are not registered: masking "1" or "true" everywhere would garble output. */
const MIN_LENGTH = 6
/** Values shorter than this are masked only as a whole token (not inside a longer word such as a path or a name). */
const SUBSTRING_LENGTH = 8

export function registerSecret(value: string | undefined | null): void {
  const set = scope().secrets
  const known = set.known
  if (!value || value.length < MIN_LENGTH || known.has(value)) return
  known.add(value)
  // Also mask forms a secret commonly takes in output: JSON-escaped and URL-encoded.
  for (const variant of [JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
    if (variant !== value && variant.length >= MIN_LENGTH) known.add(variant)
  }
  set.pattern = null
}

/** Registers each value of a list (lib/env/secrecy.ts decides which values are secret). */
export function registerSecrets(values: Iterable<string>): void {
  for (const v of values) registerSecret(v)
}

export function clearSecrets(): void {
  const set = scope().secrets
  set.known.clear()
  set.pattern = null
}

/** Values this long are replaced by plain search, longest first, before the pattern (a regular expression holding a
 *  1 MiB value is too large for V8). */
const LITERAL_LENGTH = 256

export function redact(text: string): string {
  const set = scope().secrets
  if (set.known.size === 0 || !text) return text
  if (!set.pattern) {
    const sorted = [...set.known].sort((a, b) => b.length - a.length)
    set.literals = sorted.filter((v) => v.length >= LITERAL_LENGTH)
    // a short value is masked only where it stands alone: "staging" is not masked inside "/staging-eu" or "stagingarea"
    const alternatives = sorted
      .filter((v) => v.length < LITERAL_LENGTH)
      .map((v) => ([...v].length < SUBSTRING_LENGTH ? `(?<![A-Za-z0-9_/.-])${escapeRegExp(v)}(?![A-Za-z0-9_/.-])` : escapeRegExp(v)))
    set.pattern = new RegExp(alternatives.length ? alternatives.join('|') : '(?!)', 'g')
  }
  let out = text
  for (const v of set.literals) if (out.includes(v)) out = out.split(v).join('••••')
  return out.replace(set.pattern, '••••')
}

/** How a secret value is shown when it must be mentioned at all: never any of its characters. */
export function mask(value: string | undefined): string {
  if (value === undefined) return '(unset)'
  if (value === '') return '(empty)'
  return `•••• (${[...value].length} chars)`
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
