// Editing and generating env files: planning is pure text; writing goes through fs-atomic. No env reads.
// An edit keeps every comment, blank line, ordering and untouched statement byte for byte.
import { readFile } from 'node:fs/promises'
import { pathKind } from '../core/path-kind.ts'
import { EnvSyntaxError, scanDotenv, serializeEntry, type DotenvStatement } from './dotenv.ts'
import { EnvFileError } from './layers.ts'
import { writeFileAtomic } from '../core/fs-atomic.ts'

/** Keys to set (a string) or remove (null). */
export type EnvChanges = Record<string, string | null>

export interface EnvEditPlan {
  text: string
  changed: string[]
  added: string[]
  removed: string[]
}

interface Edit {
  start: number
  end: number
  text: string
}

/** The values the file defines on its own (no shell); a value needing a missing `${X:?}` is unknown. */
function fileValues(text: string): Map<string, string | undefined> {
  const values = new Map<string, string | undefined>()
  for (const s of scanDotenv(text, undefined, { requiredVariables: 'ignore' })) if (!s.bare || s.value !== undefined) values.set(s.key, s.value)
  return values
}

/** Removes whole lines when the statement is alone on them (a trailing comment goes with it), else just the statement. */
function removal(text: string, s: DotenvStatement): Edit {
  const lineStart = text.lastIndexOf('\n', s.start - 1) + 1
  const eol = text.indexOf('\n', s.end)
  const before = text.slice(lineStart, s.start)
  const after = text.slice(s.end, eol === -1 ? text.length : eol)
  if (/^[^\S\n]*$/.test(before) && /^[^\S\n]*(#[^\n]*)?$/.test(after)) return { start: lineStart, end: eol === -1 ? text.length : eol + 1, text: '' }
  return { start: s.start, end: s.end, text: '' }
}

function buildPlan(text: string, changes: EnvChanges, statements: DotenvStatement[], rewrite: ReadonlySet<string>): EnvEditPlan {
  const byKey = new Map<string, DotenvStatement[]>()
  for (const s of statements) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s])
  const plan: EnvEditPlan = { text, changed: [], added: [], removed: [] }
  const edits: Edit[] = []
  const newline = text.includes('\r\n') ? '\r\n' : '\n'
  let appended = ''
  for (const [key, value] of Object.entries(changes)) {
    const found = byKey.get(key)
    if (value === null) {
      if (!found) continue
      plan.removed.push(key)
      for (const s of found) edits.push(removal(text, s))
    } else if (!found) {
      plan.added.push(key)
      appended += serializeEntry(key, value) + newline
    } else {
      const last = found[found.length - 1]
      if (last.value === value && !rewrite.has(key)) continue
      plan.changed.push(key)
      edits.push({ start: last.keyStart, end: last.end, text: serializeEntry(key, value) })
    }
  }
  let out = text
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end)
  if (appended) out += (out === '' || out.endsWith('\n') ? '' : newline) + appended
  plan.text = out
  return plan
}

/**
 * Plans setting (string) and removing (null) keys in an env file's text, in the order of `changes`:
 * - a set key is rewritten in place as `KEY="…"` (serializeEntry) at its last occurrence, the one Compose uses;
 *   earlier duplicates are left as they are, because lines between them may interpolate the earlier value;
 * - a key already holding the value is left untouched, unless another edit changes what it interpolates to;
 * - a removed key loses every occurrence (removing only the last would bring an earlier one back);
 * - new keys are appended at the end, after a newline, using the file's line ending.
 * Throws EnvSyntaxError for a file Compose would reject (a missing `${X:?}` variable is not a syntax error), and
 * Error for an invalid key or a NUL in a value.
 */
export function planEnvFileEdit(text: string, changes: EnvChanges): EnvEditPlan {
  for (const [key, value] of Object.entries(changes)) if (value !== null) serializeEntry(key, value)
  const statements = scanDotenv(text, undefined, { requiredVariables: 'ignore' })
  const rewrite = new Set<string>()
  for (;;) {
    const plan = buildPlan(text, changes, statements, rewrite)
    const result = fileValues(plan.text)
    const stale = Object.entries(changes).filter(([key, value]) => value !== null && result.get(key) !== value && !rewrite.has(key))
    if (stale.length === 0) return plan
    for (const [key] of stale) rewrite.add(key)
  }
}

function headerComment(header: string): string {
  return header.split('\n').map((line) => (line.startsWith('#') ? line : `# ${line}`.trimEnd())).join('\n') + '\n'
}

async function readOptional(path: string): Promise<string | undefined> {
  const kind = pathKind(path)
  if (kind === 'missing') return undefined
  if (kind !== 'file') throw new EnvFileError(path, 0, `not a regular file (it is ${kind === 'directory' ? 'a directory' : kind})`, 'replace it with a regular file (or a symlink to one), or remove it')
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export interface EditEnvFileOptions {
  /** Exact mode; default: keep the existing file's, 0o600 for a new file. */
  mode?: number
  /** Keep the previous content as `<path>.bak`; default true. */
  backup?: boolean
  /** Comment written at the top when the file is created (each line gets `# `). */
  header?: string
}

/**
 * Applies planEnvFileEdit to a file (created if missing) atomically. A file that does not parse is refused with
 * EnvFileError naming `path:line`, and nothing is written.
 */
export async function editEnvFile(path: string, changes: EnvChanges, opts: EditEnvFileOptions = {}): Promise<{ changed: string[]; added: string[]; removed: string[]; wrote: boolean }> {
  const existing = await readOptional(path)
  const base = existing ?? (opts.header ? headerComment(opts.header) : '')
  let plan: EnvEditPlan
  try {
    plan = planEnvFileEdit(base, changes)
  } catch (err) {
    if (err instanceof EnvSyntaxError) throw EnvFileError.fromSyntax(path, err)
    throw err
  }
  const mode = opts.mode ?? (existing === undefined ? 0o600 : undefined)
  const { changed } = await writeFileAtomic(path, plan.text, { mode, backup: opts.backup ?? true })
  return { changed: plan.changed, added: plan.added, removed: plan.removed, wrote: changed }
}

/**
 * Writes a complete generated env file: the header as a comment (e.g. 'generated by tasks/setup.ts; do not edit'),
 * then one `KEY="…"` line per entry in the given order. Mode 0o600 unless given. Throws before writing on an invalid key.
 */
export async function writeEnvFile(path: string, entries: Record<string, string>, opts: { header: string; mode?: number }): Promise<{ wrote: boolean }> {
  const text = headerComment(opts.header) + Object.entries(entries).map(([key, value]) => serializeEntry(key, value) + '\n').join('')
  const { changed } = await writeFileAtomic(path, text, { mode: opts.mode ?? 0o600 })
  return { wrote: changed }
}
