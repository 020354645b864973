// Files of this checkout under the swarm engine: a read-only bind mount of a file or folder of the checkout (which other
// nodes do not have) becomes one Docker config per file, named with a hash of its content since a config cannot
// change. Here: the name, and reading the files a mount covers (the only I/O; hidden files are left out).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

export interface CheckoutFile {
  /** the path under the mount's source ('' when the source is the file itself) */
  path: string
  /** the file, relative to the checkout */
  file: string
  content: string
  /** 0o555 when the file is executable (an init script runs rather than being sourced), else 0o444 */
  mode: number
}

export interface ConfigUse {
  /** the Docker config: <project>_<basename>_<12 hex of sha256(content)> */
  name: string
  /** the file, relative to the checkout */
  file: string
  content: string
  services: string[]
}

/** Docker config name: at most 64 characters of [a-zA-Z0-9_.-] */
export function configName(project: string, file: string, content: string): string {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12)
  const base = (file.split('/').pop() ?? file).replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, Math.max(1, 64 - project.length - 14))
  return `${project}_${base}_${hash}`
}

/**
 * The files a bind mount's source covers when it lies in the checkout `root`: the file itself, or every file under the
 * folder ([] when missing or empty); 'outside' when the source is not in the checkout, 'unsupported' when it holds
 * something other than text files (a socket, binary data). `extra` adds or replaces files by checkout-relative path
 * (a file `up --dry-run` would write, but has not).
 */
export function checkoutFiles(root: string, source: string, extra: Readonly<Record<string, string>> = {}): CheckoutFile[] | 'outside' | 'unsupported' {
  const rel = relative(root, source)
  if (rel.startsWith('..') || rel === '' || rel.startsWith(sep)) return 'outside'
  const under = (p: string) => relative(rel, p).split(sep).join('/')
  const files = new Map<string, CheckoutFile>()
  const walk = (abs: string): boolean => {
    let st
    try {
      st = statSync(abs)
    } catch {
      return true
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(abs).sort()) if (!n.startsWith('.') && !walk(join(abs, n))) return false
      return true
    }
    if (!st.isFile()) return false
    const bytes = readFileSync(abs)
    const content = bytes.toString('utf8')
    if (!Buffer.from(content, 'utf8').equals(bytes)) return false
    const file = relative(root, abs).split(sep).join('/')
    files.set(under(file), { path: under(file), file, content, mode: st.mode & 0o111 ? 0o555 : 0o444 })
    return true
  }
  if (!walk(source)) return 'unsupported'
  for (const [p, content] of Object.entries(extra)) {
    const r = relative(rel, p)
    if (r === '' || (!r.startsWith('..') && !r.startsWith(sep))) files.set(under(p), { path: under(p), file: p, content, mode: files.get(under(p))?.mode ?? 0o444 })
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
