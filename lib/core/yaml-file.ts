// Every YAML file Stackyard reads (compose files, setup's --answers) is parsed here, within bounds: a regular file of
// at most MAX_YAML_BYTES, aliases expanded at most MAX_YAML_ALIASES times (no "billion laughs"); any problem is a
// ConfigError naming file:line. Reads files; never writes.
import { readFileSync, statSync } from 'node:fs'
import { LineCounter, parseDocument, visit, isAlias, type Document } from 'yaml'
import { ConfigError } from './errors.ts'
import { requireRegularFile } from './path-kind.ts'

/** the largest YAML file read (compose files are a few KiB; an answers file less) */
export const MAX_YAML_BYTES = 1024 * 1024
/** the most alias expansions (counted in nodes, as the yaml library counts them) one document may make */
export const MAX_YAML_ALIASES = 1000

export interface ParsedYaml {
  doc: Document
  lines: LineCounter
  /** the document as plain data (aliases resolved); undefined for an empty file */
  data: unknown
}

/** Parses YAML text; `file` names it in messages, `hint` says how to fix a syntax error. */
export function parseYaml(text: string, file: string, hint = 'fix the YAML syntax (indentation, quotes, colons)'): ParsedYaml {
  if (Buffer.byteLength(text) > MAX_YAML_BYTES) throw tooLarge(file, Buffer.byteLength(text))
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    const e = doc.errors[0]
    const line = e.pos?.[0] === undefined ? undefined : lines.linePos(e.pos[0]).line
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`, { file, line, hint })
  }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES })
  } catch (err) {
    // the yaml library throws a ReferenceError for too many alias expansions (and for an alias to no anchor)
    const line = firstAliasLine(doc, lines)
    const why = /Excessive alias count/.test((err as Error).message) ? `its aliases expand to more than ${MAX_YAML_ALIASES} nodes (an alias bomb?)` : (err as Error).message.split('\n')[0]
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${why}`, { file, line, hint: 'write the values out, or use fewer and smaller anchors (&name) and aliases (*name)', cause: err })
  }
  return { doc, lines, data }
}

/** Reads and parses a YAML file: it must be a regular file of at most MAX_YAML_BYTES; `shown` names it in messages. */
export function readYamlFile(abs: string, shown: string, o: { hint?: string } & ReadOptions = {}): ParsedYaml {
  return parseYaml(readYamlText(abs, shown, o), shown, o.hint)
}

/** The text of a YAML file, read within the same bounds (a regular file of at most MAX_YAML_BYTES), not parsed. */
export function readYamlText(abs: string, shown: string, o: ReadOptions = {}): string {
  const readHint = o.readHint ?? 'check that the file exists and is readable'
  // a missing file is reported by the read below, as any other read error
  if (!requireRegularFile(abs, shown, { optional: true, hint: readHint })) return readOrThrow(abs, shown, readHint, o)
  const size = statSync(abs).size
  if (size > MAX_YAML_BYTES) throw tooLarge(shown, size)
  return readOrThrow(abs, shown, readHint, o)
}

interface ReadOptions {
  /** what to do when the file cannot be read (default: check that it exists and is readable) */
  readHint?: string
  /** the message for a file that cannot be read, given the error code (default: `cannot read FILE: CODE`) */
  cannotRead?: (code: string) => string
}

function readOrThrow(abs: string, shown: string, readHint: string, o: ReadOptions): string {
  try {
    return readFileSync(abs, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new ConfigError(o.cannotRead ? o.cannotRead(code) : `cannot read ${shown}: ${code}`, { file: shown, hint: readHint })
  }
}

function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError(`${file}: too large for a YAML file Stackyard reads (${bytes} bytes, at most ${MAX_YAML_BYTES})`, { file, hint: 'is this the right file? compose and answers files are a few KiB' })
}

function firstAliasLine(doc: Document, lines: LineCounter): number | undefined {
  let line: number | undefined
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) line = lines.linePos(node.range[0]).line
      return visit.BREAK
    },
  })
  return line
}
