// The layered environment as Compose builds it from repeated --env-file: reads env files, never writes process.env.
// Order, lowest first: derived < .env.global < .env < .env.infisical < shell (the shell always wins, as in Compose).
import { readFileSync } from 'node:fs'
import { pathKind } from '../core/path-kind.ts'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import { EnvSyntaxError, InterpolationError, scanDotenv, setenvCheck, type DotenvRules, type DotenvStatement, type EnvSyntaxCode, type Lookup } from './dotenv.ts'
import { modelledCompose } from './compose-rules.ts'
import { scope } from '../core/scope.ts'

/** The top file layer: Infisical's export, written by `up` (and `infisical/pull.ts`). */
export const SECRET_LAYER_FILE = '.env.infisical'
/** What configures Infisical: a machine identity and a project. */
export const INFISICAL_IDENTITY = ['INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'] as const
export const infisicalConfigured = (lookup: (name: string) => string | undefined) => INFISICAL_IDENTITY.every((k) => Boolean(lookup(k)))

/**
 * The one rule for every task (env, status, health, up, backup, restore, compose): `.env.infisical` is a layer only
 * while Infisical is configured by the layers below it or the shell. The export of an installation that no longer
 * uses Infisical is left out everywhere (doctor says so), never used by some tasks and not by others.
 */
export function secretLayerApplies(root: string, shell: Record<string, string | undefined> = scope().env): boolean {
  const below = loadEnvLayers({ root, files: ['.env.global', '.env'], shell })
  return infisicalConfigured(below.lookup) && readOptional(root, SECRET_LAYER_FILE) !== undefined
}

export interface EnvSource {
  kind: 'file' | 'shell' | 'derived'
  /** Path relative to the root, e.g. '.env.global'. */
  file?: string
  line?: number
}

export interface EnvLayers {
  /** What Compose would see for every key the files or the derived layer define: the shell value where the shell has the key. */
  values: Record<string, string>
  /** The same keys merged from the derived layer and the files only (what would be seen without the shell). */
  files: Record<string, string>
  /** The winning layer of each key in `values`. */
  sources: Record<string, EnvSource>
  /** Every layer that set the key, lowest first; a file that sets a key twice appears twice. */
  history: Record<string, EnvSource[]>
  /** File values that a shell variable of the same name overrides (a silent trap); `differs` when the values differ. */
  shadowed: Array<{ key: string; file: string; line: number; differs: boolean }>
  /** Shell first, then the merged files: the lookup Compose uses to interpolate compose files. */
  lookup(name: string): string | undefined
  /** The files that exist, in load order, as given in `files`. */
  loadedFiles: string[]
  /** Every value each layer set, overridden ones included, for masking (lib/env/secrecy.ts); not enumerable, so never in JSON. */
  layerValues: Array<{ key: string; value: string; source: EnvSource }>
  /** The calling environment these layers were read with (the one place it is read); not enumerable, so never in JSON. */
  shell: Readonly<Record<string, string | undefined>>
}

export interface LoadEnvLayersOptions {
  root: string
  /** Relative to root, lowest first; missing files are skipped. Default: .env.global, .env, and .env.infisical when Infisical is configured (secretLayerApplies). */
  files?: string[]
  /** The calling environment; defaults to the run's (lib/core/scope.ts). */
  shell?: Record<string, string | undefined>
  /** Values Stackyard computes itself (e.g. service URLs): the lowest layer, visible to interpolation in the files. */
  derived?: Record<string, string>
  /** Contents to use instead of reading a file (a restore checks an archive's .env in its place before writing it). */
  contents?: ReadonlyMap<string, string>
  /** The Compose behaviours to model; default: those of the Compose this checkout runs with (modelledCompose) */
  rules?: DotenvRules
}

const HINTS: Record<EnvSyntaxCode, (err: EnvSyntaxError) => string> = {
  'unterminated-quote': (err) =>
    `the quote opened on line ${err.openedAt?.line ?? err.statementLine} is never closed: quote the value with double quotes and escape \\" and \\\\ inside`,
  'invalid-key': () => 'write one KEY=value per line; a key may hold letters, digits and _ . - [ ] only',
  'key-space': () => 'write one KEY=value per line; a key cannot contain a space (quote values that do)',
  'empty-statement': () => 'remove the dangling `export` at the end of the file',
  'empty-key': () => 'write KEY=value (or remove the text): this Compose (before 2.39.3) fails on it with "setenv: invalid argument"',
  'nul-value': () => 'remove the NUL character: this Compose (before 2.39.3) fails on it with "setenv: invalid argument"',
  'invalid-template': () => 'write a literal $ as $$ (or put the value in single quotes); ${…} takes NAME, NAME:-default, NAME:?error or NAME:+other',
  'missing-required': (err) => `set ${err instanceof InterpolationError ? err.variable : 'the variable'} in your shell or on an earlier line or file, or drop the :? check`,
}

/** An env file Compose would refuse (or that cannot be read): names `file:line` and says what to do. Exit 2. */
export class EnvFileError extends ConfigError {
  declare file: string
  declare line: number
  declare hint: string
  declare column: number
  constructor(file: string, line: number, detail: string, hint: string, cause?: unknown, column = 0) {
    super(line > 0 ? `${file}:${line}${column > 0 ? `:${column}` : ''}: ${detail}` : `${file}: ${detail}`, { file, line, hint, cause })
    this.column = column
  }

  /**
   * The syntax error of `file` as `file:line:column: what was expected`, never echoing any of the file's text (a
   * value may be a secret, and the text around a missing quote is usually the next line's value). An unclosed quote
   * is located where it opened.
   */
  static fromSyntax(file: string, err: EnvSyntaxError): EnvFileError {
    const { line, column, detail } = describeSyntax(err)
    const hint = err.openedAt
      ? `close the ${err.openedAt.quote} quote opened on line ${err.openedAt.line}; quote values with double quotes and escape \\" and \\\\ inside`
      : HINTS[err.code](err)
    const e = new EnvFileError(file, line, detail, hint, undefined, column)
    // Compose's own wording, which may quote the file's text: never printed (not the message, not the cause); kept
    // so that a comparison with Compose (test/compose-diff.test.ts) can check the exact error
    Object.defineProperty(e, 'syntax', { value: err, enumerable: false })
    return e
  }
  /** the parser's error in Compose's words (may quote file text: never print it) */
  declare readonly syntax?: EnvSyntaxError
}

/** Where a syntax error is and what was expected, in words that hold none of the text parsed. */
export function describeSyntax(err: EnvSyntaxError): { line: number; column: number; detail: string } {
  if (err.openedAt) {
    const { line, column, quote } = err.openedAt
    return { line, column, detail: `unterminated quoted value: the ${quote} opened here is not closed on line ${line} (expected a closing ${quote}); the value ran on to line ${err.line}, which does not parse` }
  }
  const line = err.statementLine || err.line
  const column = err.column
  switch (err.code) {
    case 'unterminated-quote':
      return { line, column, detail: 'unterminated quoted value: the quote opened here is never closed (expected a closing quote)' }
    case 'invalid-key':
      return { line, column, detail: 'unexpected character in a variable name (expected KEY=value: letters, digits and _ . - [ ] before the =)' }
    case 'key-space':
      return { line, column, detail: 'key cannot contain a space (expected KEY=value)' }
    case 'empty-statement':
      return { line, column, detail: 'zero length string (expected a KEY=value after export)' }
    case 'empty-key':
      return { line, column, detail: err.message.replace(/^line \d+: /, '') }
    case 'nul-value':
      return { line, column, detail: err.message.replace(/^line \d+: /, '') }
    case 'invalid-template':
      return { line, column, detail: 'invalid ${…} template in the value (expected $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME:?error} or ${NAME:+other})' }
    case 'missing-required':
      return { line, column, detail: `required variable ${err instanceof InterpolationError ? err.variable : ''} is missing a value (expected it set in the shell, an earlier line or an earlier file)`.replace('  ', ' ') }
  }
}

function readOptional(root: string, file: string): string | undefined {
  const kind = pathKind(join(root, file))
  if (kind === 'missing') return undefined
  if (kind !== 'file' && kind !== 'directory') throw new EnvFileError(file, 0, `not a regular file (it is ${kind}); reading it could wait for ever`, 'replace it with a regular file (or a symlink to one), or remove it')
  try {
    return readFileSync(join(root, file), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new EnvFileError(file, 0, `cannot read: ${(err as Error).message}`, 'check that it is a readable file (chmod 600 keeps secrets private)', err)
  }
}

/**
 * Loads the layers as Compose does with `--env-file` repeated in this order: later files win; inside a file `${X}`
 * resolves against the shell first, then everything parsed so far (derived values, earlier files, earlier lines);
 * the shell wins over every file. Throws EnvFileError naming `file:line` for a file Compose would reject.
 */
export function loadEnvLayers(opts: LoadEnvLayersOptions): EnvLayers {
  const shell = opts.shell ?? scope().env
  const fromShell: Lookup = (name) => {
    const v = Object.hasOwn(shell, name) ? shell[name] : undefined
    return typeof v === 'string' ? v : undefined
  }
  const merged = new Map<string, string>()
  for (const [key, value] of Object.entries(opts.derived ?? {})) merged.set(key, value)
  const loadedFiles: string[] = []
  /** each file read, with its statements: the records below are built from them when first asked for */
  const read: Array<{ file: string; text: string; statements: DotenvStatement[] }> = []
  const rules = opts.rules ?? modelledCompose(opts.root, shell).rules
  const files = opts.files ?? ['.env.global', '.env', SECRET_LAYER_FILE]
  for (const file of files) {
    // the default chain applies the secret-layer rule with what is loaded so far (the layers below it, and the shell)
    if (!opts.files && file === SECRET_LAYER_FILE && !infisicalConfigured((n) => fromShell(n) ?? merged.get(n))) continue
    const text = opts.contents?.get(file) ?? readOptional(opts.root, file)
    if (text === undefined) continue
    loadedFiles.push(file)
    try {
      // older Compose: keys of the earlier files win over this file's own earlier lines while it is interpolated
      const earlier = rules.earlierFilesFirst ? new Map(merged) : undefined
      read.push({ file, text, statements: scanDotenv(text, fromShell, { env: merged, rules, earlier }) })
    } catch (err) {
      if (err instanceof EnvSyntaxError) throw EnvFileError.fromSyntax(file, err)
      throw err
    }
  }
  if (rules.setenvStrict) composeSetenvPass(read, merged, fromShell, rules)

  // every value each layer set, and each key's history: built on first use (the provenance and the secret values)
  type Records = { layerValues: EnvLayers['layerValues']; history: Map<string, EnvSource[]> }
  let records: Records | undefined
  const recorded = (): Records => {
    if (records) return records
    const r: Records = { layerValues: [], history: new Map() }
    const record = (key: string, value: string, source: EnvSource) => {
      const list = r.history.get(key)
      if (list) list.push(source)
      else r.history.set(key, [source])
      r.layerValues.push({ key, value, source })
    }
    for (const [key, value] of Object.entries(opts.derived ?? {})) record(key, value, { kind: 'derived' })
    for (const { file, statements } of read) for (const s of statements) if (s.value !== undefined) record(s.key, s.value, { kind: 'file', file, line: s.line })
    return (records = r)
  }
  const layers = { values: {}, lookup: (name: string) => fromShell(name) ?? merged.get(name), loadedFiles } as unknown as EnvLayers
  Object.defineProperty(layers, 'layerValues', { get: () => recorded().layerValues, enumerable: false })
  Object.defineProperty(layers, 'shell', { value: shell, enumerable: false })
  for (const [key, fileValue] of merged) setEntry(layers.values, key, fromShell(key) ?? fileValue)
  // the provenance (files, sources, history, shadowed) is built on first use: most callers only read values
  let provenance: Pick<EnvLayers, 'files' | 'sources' | 'history' | 'shadowed'> | undefined
  const build = () => {
    if (provenance) return provenance
    const p: Pick<EnvLayers, 'files' | 'sources' | 'history' | 'shadowed'> = { files: {}, sources: {}, history: {}, shadowed: [] }
    const { history } = recorded()
    for (const [key, fileValue] of merged) {
      const keyHistory = history.get(key)!
      const below = keyHistory[keyHistory.length - 1]
      const shellValue = fromShell(key)
      if (shellValue !== undefined) {
        keyHistory.push({ kind: 'shell' })
        if (below.kind === 'file') p.shadowed.push({ key, file: below.file!, line: below.line!, differs: shellValue !== fileValue })
      }
      setEntry(p.files, key, fileValue)
      setEntry(p.sources, key, shellValue === undefined ? below : { kind: 'shell' })
      setEntry(p.history, key, keyHistory)
    }
    return (provenance = p)
  }
  for (const name of ['files', 'sources', 'history', 'shadowed'] as const)
    Object.defineProperty(layers, name, { get: () => build()[name], enumerable: true, configurable: true })
  return layers
}

/**
 * Compose before 2.39.3 reads the --env-files once, calls setenv for every key of the merged result the shell does
 * not set (an empty key or a NUL fails the command with "setenv: invalid argument", after any syntax error of any
 * file), then reads the files again with each key resolving to the shell, else to that merged result: a `${X:?…}`
 * that held while its file was first read can fail then (`Y=1`, `A=${Y:?}`, `Y=` fails). Measured with 2.26.1; that
 * the second reading goes away with setenv in 2.39.3 is inferred (it is what setenv feeds), not measured.
 */
function composeSetenvPass(
  read: ReadonlyArray<{ file: string; text: string; statements: readonly DotenvStatement[] }>,
  merged: ReadonlyMap<string, string>,
  fromShell: Lookup,
  rules: DotenvRules,
): void {
  const fail = (file: string, err: unknown): never => {
    if (err instanceof EnvSyntaxError) throw EnvFileError.fromSyntax(file, err)
    throw err
  }
  /** the statement that set each key last */
  const last = new Map<string, { file: string; text: string; statement: DotenvStatement }>()
  for (const { file, text, statements } of read) for (const statement of statements) if (statement.value !== undefined) last.set(statement.key, { file, text, statement })
  for (const [key, { file, text, statement }] of last) {
    if (fromShell(key) !== undefined) continue
    try {
      setenvCheck(statement, text)
    } catch (err) {
      fail(file, err)
    }
  }
  const final: Lookup = (name) => fromShell(name) ?? merged.get(name)
  for (const { file, text } of read) {
    // the second reading can only fail on a required variable (${X:?…} or ${X?…}): the syntax passed the first one,
    // and the values it computes are not kept; a file without a `?` holds no such template
    if (!text.includes('?')) continue
    try {
      scanDotenv(text, final, { rules: { ...rules, earlierFilesFirst: false } })
    } catch (err) {
      fail(file, err)
    }
  }
}

/** Assignment (fast), except that `__proto__` becomes an own key instead of changing the prototype. */
function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
  else record[key] = value
}
