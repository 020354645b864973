// Secret redaction: a process-wide set of known secret values and the masking rules; no I/O.
// Every line lib/log.ts prints and every dry-run preview passes through redact().

const known = new Set<string>()
let pattern: RegExp | null = null

/** Values shorter than this are not registered: masking "1" or "true" everywhere would garble output. */
const MIN_LENGTH = 6

/** Key names that are secret by convention, used only when no declaration says otherwise. */
export const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|_KEY$|^KEY$|PRIVATE|CREDENTIAL|_AUTH$)/i

export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_LENGTH || known.has(value)) return
  known.add(value)
  // Also mask forms a secret commonly takes in output: JSON-escaped and URL-encoded.
  for (const variant of [JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
    if (variant !== value && variant.length >= MIN_LENGTH) known.add(variant)
  }
  pattern = null
}

/** Registers the values of secret keys: those declared (x-secrets), and those named like secrets by convention. */
export function registerSecretsIn(values: Record<string, string | undefined>, declared: ReadonlySet<string> | { has(key: string): boolean }): void {
  for (const [k, v] of Object.entries(values)) if (declared.has(k) || SECRET_NAME.test(k)) registerSecret(v)
}

export function clearSecrets(): void {
  known.clear()
  pattern = null
}

export function redact(text: string): string {
  if (known.size === 0 || !text) return text
  if (!pattern) {
    const alternatives = [...known].sort((a, b) => b.length - a.length).map(escapeRegExp)
    pattern = new RegExp(alternatives.join('|'), 'g')
  }
  return text.replace(pattern, '••••')
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
