// A compose service's `volumes:` entries, short and long syntax, as {type, source, target, readOnly}: named volumes
// (the data a backup covers), bind mounts (paths the engine's host must have, the Docker socket). Pure.

export interface Mount {
  type: 'volume' | 'bind' | 'tmpfs' | 'other'
  /** volume key (as written in the compose file) or host path; '' for an anonymous volume or tmpfs */
  source: string
  target: string
  readOnly: boolean
}

/** `name:/path[:ro]`, `./dir:/path`, `/host:/path:ro`, `/path` (anonymous), or the long form {type, source, target, read_only}. */
export function serviceMounts(raw: unknown): Mount[] {
  if (!Array.isArray(raw)) return []
  return raw.flatMap((v): Mount[] => {
    if (typeof v === 'string') {
      const parts = splitShort(v)
      if (parts.length === 1) return [{ type: 'volume', source: '', target: parts[0], readOnly: false }]
      const [source, target, mode = ''] = parts
      const bind = /^[./~]/.test(source) || source.includes('/') || source.startsWith('$')
      return [{ type: bind ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') }]
    }
    if (v && typeof v === 'object') {
      const o = v as { type?: unknown; source?: unknown; target?: unknown; read_only?: unknown }
      const type = o.type === 'volume' || o.type === 'bind' || o.type === 'tmpfs' ? o.type : 'other'
      return [{ type, source: typeof o.source === 'string' ? o.source : '', target: typeof o.target === 'string' ? o.target : '', readOnly: o.read_only === true }]
    }
    return []
  })
}

/** Splits `source:target:mode` on the colons outside `${…}` (a source may be `${SOCK:-/var/run/docker.sock}`). */
function splitShort(v: string): string[] {
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (let i = 0; i < v.length; i++) {
    const c = v[i]
    if (c === '$' && v[i + 1] === '{') depth++
    else if (c === '}' && depth > 0) depth--
    if (c === ':' && depth === 0) {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  parts.push(cur)
  return parts
}

/** The named volumes (keys) a service mounts. */
export function namedVolumeKeys(raw: unknown): string[] {
  return [...new Set(serviceMounts(raw).filter((m) => m.type === 'volume' && m.source).map((m) => m.source))]
}

/** Does this host path name the Docker socket (…/docker.sock, any prefix, ${VAR} allowed)? */
export function isDockerSocket(path: string): boolean {
  const p = path.trim().replace(/^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(.*)\}$/, '$1')
  return /(^|\/)docker\.sock\/?$/.test(p)
}
