// A compose service's `environment:` as the compose file writes it (map or list syntax), before interpolation. Pure.

/** KEY → value as written; a bare `KEY` (list) or `KEY:` (map), which Compose takes from the shell, maps to undefined. */
export function serviceEnvironment(raw: unknown): Record<string, string | undefined> {
  if (Array.isArray(raw))
    return Object.fromEntries(
      raw.map(String).map((e) => {
        const i = e.indexOf('=')
        return i < 0 ? [e, undefined] : [e.slice(0, i), e.slice(i + 1)]
      }),
    )
  if (raw && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null || v === undefined ? undefined : String(v)]))
  return {}
}

/** The value when the file gives it literally: set, not empty, and nothing (`$VAR`, `${…}`) left to interpolate. */
export function literal(value: string | undefined): string | undefined {
  return value && !value.includes('$') ? value : undefined
}
