// Plain-text helpers: rendering (tables, durations, printable text), reading comma lists and JSON against a schema, and
// names made into variable names; pure.
import type { z } from 'zod'
import { stripAnsi } from './log.ts'

/** Render rows as an aligned table; the first row is the header. Cells may contain ANSI colour. */
export function table(rows: string[][], opts: { indent?: string } = {}): string {
  if (rows.length === 0) return ''
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))))
  const indent = opts.indent ?? ''
  return rows
    .map((row) =>
      (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - width(cell)))).join('  ')).trimEnd(),
    )
    .join('\n')
}

function width(s: string): number {
  return [...stripAnsi(s)].length
}

export function plural(n: number, word: string, pluralWord = word + 's'): string {
  return `${n} ${n === 1 ? word : pluralWord}`
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  return `${m} min ${Math.round(s - m * 60)} s`
}

/** Terminal control sequences (CSI such as erase-line `ESC[2K`, cursor moves, colours; OSC titles) removed: text for a log. */
export function stripTerminalCodes(text: string): string {
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g, '').replace(/\r(?!\n)/g, '')
}

/**
 * Text that came from outside (an API's message, a remote key name) made safe to print: control characters (terminal
 * escapes, bell, newlines, NUL) are shown as \u escapes instead of being sent to the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `a, b,,c` → ['a', 'b', 'c']: a comma-separated setting or flag value, items trimmed, empty ones dropped. */
export function commaList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)
}

/** A name as part of an environment variable's name: `edge-1` → `EDGE_1` (upper case, anything else `_`). */
export function envNamePart(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_')
}

/** `text` parsed as JSON and checked against `schema`: the data, or undefined when it is not JSON or not of that shape. */
export function parseJsonAs<T extends z.ZodType>(schema: T, text: string): z.infer<T> | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const r = schema.safeParse(json)
  return r.success ? r.data : undefined
}
