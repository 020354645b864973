// Docker Compose's dotenv grammar and ${VAR} interpolation, ported from compose-go: pure, no I/O, no env reads.
// Behaviour (including quirks and error wording) follows compose-go's dotenv/parser.go and template/template.go.
// Writing values back always uses the double-quoted form (serializeValue).

/** Resolves a variable name; `undefined` means unset (distinct from the empty string). */
export type Lookup = (name: string) => string | undefined

export type InterpolationCode = 'invalid-template' | 'missing-required'
export type EnvSyntaxCode = 'unterminated-quote' | 'invalid-key' | 'key-space' | 'empty-statement' | 'empty-key' | 'nul-value' | InterpolationCode

/** Something Compose rejects. `message` is Compose's own wording (e.g. `line 3: unterminated quoted value "abc`). */
export class EnvSyntaxError extends Error {
  /** The line Compose's message names (Compose counts to the end of the file for an unterminated quote); 0 when not from a file. */
  line: number
  /** The 1-based line where the failing statement starts; 0 when not from a file. */
  statementLine: number
  code: EnvSyntaxCode
  /** The 1-based column (of `statementLine` for an unterminated quote: where the quote opens) of the problem; 0 when unknown. */
  column = 0
  /**
   * Where a quoted value that ran over line ends opened, when the statement right after its closing quote is what
   * fails: the usual cause is a missing closing quote there (the next line's opening quote closed it instead).
   */
  openedAt?: { line: number; column: number; quote: string }
  constructor(message: string, code: EnvSyntaxCode, line: number, statementLine: number = line, column = 0) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.line = line
    this.statementLine = statementLine
    this.column = column
  }
}

/** An interpolation failure: `Invalid template: "…"` or `required variable X is missing a value[: reason]`. */
export class InterpolationError extends EnvSyntaxError {
  /** The variable of a `${X:?…}` / `${X?…}` that failed. */
  variable: string | undefined
  constructor(message: string, code: InterpolationCode, variable?: string, line = 0) {
    super(message, code, line)
    this.variable = variable
  }
  /** A copy located at `line` (and `column`) of a file. */
  at(line: number, column: number): InterpolationError {
    const located = new InterpolationError(this.message, this.code as InterpolationCode, this.variable, line)
    located.column = column
    return located
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Interpolation (template/template.go). Compose matches
//   \$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|()))
// which the tokenizer below reproduces by hand, quirks included: the case-insensitive class also admits
// U+017F and U+212A (their case folds are s and k), `.*` is greedy up to the last `}` of the line, and the
// matched text is then cut at the first balanced `}` (the rest is interpolated separately).

type Token =
  | { kind: 'escaped' | 'invalid'; start: number; end: number }
  | { kind: 'named'; name: string; start: number; end: number }
  | { kind: 'braced'; start: number; end: number }

const isNameStart = (c: number) =>
  c === 95 || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 0x17f || c === 0x212a
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57)
const isOperator = (c: number) => c === 45 || c === 43 || c === 63 // - + ?

function tokenAt(tpl: string, i: number): Token | undefined {
  const c = tpl.charCodeAt(i + 1)
  if (c === 36) return { kind: 'escaped', start: i, end: i + 2 }
  if (isNameStart(c)) {
    let j = i + 2
    while (isNameChar(tpl.charCodeAt(j))) j++
    return { kind: 'named', name: tpl.slice(i + 1, j), start: i, end: j }
  }
  if (c !== 123) return undefined // a lone `$` stays literal
  let j = i + 2
  if (isNameStart(tpl.charCodeAt(j))) {
    j++
    while (isNameChar(tpl.charCodeAt(j))) j++
    if (tpl.charCodeAt(j) === 125) return { kind: 'braced', start: i, end: j + 1 }
    const op = tpl.charCodeAt(j) === 58 ? j + 1 : j
    if (isOperator(tpl.charCodeAt(op))) {
      const eol = tpl.indexOf('\n', op)
      const close = tpl.lastIndexOf('}', (eol === -1 ? tpl.length : eol) - 1)
      if (close > op) return { kind: 'braced', start: i, end: close + 1 }
    }
  }
  return { kind: 'invalid', start: i, end: i + 2 }
}

function nextToken(tpl: string, from: number): Token | undefined {
  for (let i = tpl.indexOf('$', from); i !== -1; i = tpl.indexOf('$', i + 1)) {
    const token = tokenAt(tpl, i)
    if (token) return token
  }
  return undefined
}

/** compose-go's getFirstBraceClosingIndex, including its skip of the character after each `{`. */
function firstBraceClosingIndex(s: string): number {
  let open = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 125 && --open === 0) return i
    if (c === 123) {
      open++
      i++
    }
  }
  return -1
}

interface Braced {
  name: string
  /** '' for a plain `${NAME}`, else one of `:-` `-` `:+` `+` `:?` `?`. */
  op: string
  arg: string
  /** Text after the first balanced `}` inside the greedy match; interpolated on its own. */
  rest: string
}

function splitBraced(match: string): Braced {
  const close = firstBraceClosingIndex(match)
  const head = close === -1 ? match : match.slice(0, close + 1)
  const rest = close === -1 ? '' : match.slice(close + 1)
  const body = head.slice(2, -1)
  let j = 1
  while (j < body.length && isNameChar(body.charCodeAt(j))) j++
  const op = j === body.length ? '' : body[j] === ':' ? body.slice(j, j + 2) : body[j]
  return { name: body.slice(0, j), op, arg: body.slice(j + op.length), rest }
}

function goQuoteRune(cp: number): string {
  switch (cp) {
    case 7: return '\\a'
    case 8: return '\\b'
    case 9: return '\\t'
    case 10: return '\\n'
    case 11: return '\\v'
    case 12: return '\\f'
    case 13: return '\\r'
    case 34: return '\\"'
    case 92: return '\\\\'
  }
  const ch = String.fromCodePoint(cp)
  if (cp === 32 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) return ch
  if (cp < 32 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0')
  return cp < 0x10000 ? '\\u' + cp.toString(16).padStart(4, '0') : '\\U' + cp.toString(16).padStart(8, '0')
}

/** Go's strconv.Quote (what `%q` and `%#v` print for a string), so error messages read exactly like Compose's. */
function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) out += goQuoteRune(ch.codePointAt(0)!)
  return out + '"'
}

function missingRequired(name: string, reason: string): InterpolationError {
  const message = `required variable ${name} is missing a value${reason ? `: ${reason}` : ''}`
  return new InterpolationError(message, 'missing-required', name)
}

function applyOperator({ name, op, arg }: Braced, lookup: Lookup, eager: boolean): string {
  const value = lookup(name) ?? undefined
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  // Compose before 5.0.2 interpolates the argument (default, alternative or error text) before it looks at the
  // variable: a failing ${Y:?…} inside it fails even when it is not used (measured with Compose 2.26.1)
  const sub = (t: string) => interpolate(t, lookup, eager)
  if (eager && op !== '') sub(arg)
  switch (op) {
    case ':-': return nonEmpty ? value : sub(arg)
    case '-': return set ? value : sub(arg)
    case ':+': return nonEmpty ? sub(arg) : (value ?? '')
    case '+': return set ? sub(arg) : ''
    case ':?':
      if (!nonEmpty) throw missingRequired(name, sub(arg))
      return value
    case '?':
      if (!set) throw missingRequired(name, sub(arg))
      return value
    default: return value ?? ''
  }
}

/**
 * Compose's interpolation: `$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V:?e}`, `${V?e}`, `${V:+r}`, `${V+r}`, nested
 * templates in the argument, `$$` for a literal `$`. Unset variables become empty. Throws InterpolationError.
 */
export function interpolate(template: string, lookup: Lookup, eagerDefaults = false): string {
  let out = ''
  let pos = 0
  for (let t = nextToken(template, 0); t; t = nextToken(template, t.end)) {
    out += template.slice(pos, t.start)
    pos = t.end
    if (t.kind === 'escaped') out += '$'
    else if (t.kind === 'named') out += lookup(t.name) ?? ''
    else if (t.kind === 'invalid') throw new InterpolationError(`Invalid template: ${goQuote(template)}`, 'invalid-template')
    else {
      const braced = splitBraced(template.slice(t.start, t.end))
      out += applyOperator(braced, lookup, eagerDefaults) + (braced.op ? interpolate(braced.rest, lookup, eagerDefaults) : '')
    }
  }
  return out + template.slice(pos)
}

export interface TemplateVariable {
  name: string
  /** `${V:-d}` or `${V-d}`: Compose substitutes the default instead of warning. */
  hasDefault: boolean
  /** `${V:?e}` or `${V?e}`: Compose fails when the variable is unset (or empty, with `:`). */
  required: boolean
  /** `${V:?e}`: an empty value fails too */
  nonEmpty?: boolean
}

function collectVariables(template: string, out: TemplateVariable[]): void {
  for (let t = nextToken(template, 0); t; t = nextToken(template, t.end)) {
    if (t.kind === 'escaped') continue
    if (t.kind === 'invalid') throw new InterpolationError(`Invalid template: ${goQuote(template)}`, 'invalid-template')
    if (t.kind === 'named') {
      out.push({ name: t.name, hasDefault: false, required: false })
      continue
    }
    const { name, op, arg, rest } = splitBraced(template.slice(t.start, t.end))
    out.push({ name, hasDefault: op === '-' || op === ':-', required: op === '?' || op === ':?', ...(op === ':?' ? { nonEmpty: true } : {}) })
    if (op && !op.endsWith('?')) collectVariables(arg, out)
    collectVariables(rest, out)
  }
}

/**
 * The variables a template references, in order of appearance, each (name, hasDefault, required) combination
 * once. Defaults and `+` replacements are scanned for nested references (as compose-go's ExtractVariables does);
 * `$$` is not a reference; `${V:+r}` / `${V+r}` count as neither default nor required (compose-go's
 * PresenceValue). Throws InterpolationError on an invalid template such as `${a.b}`.
 */
export function templateVariables(template: string): TemplateVariable[] {
  const all: TemplateVariable[] = []
  collectVariables(template, all)
  const seen = new Set<string>()
  return all.filter((v) => {
    const id = `${v.name}\0${v.hasDefault}\0${v.required}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The dotenv parser (dotenv/parser.go), index-based over the whole text so that statements keep their offsets.

/** Go's isSpace in parser.go: blanks but not the newline. */
const isBlank = (c: number) => c === 32 || c === 9 || c === 11 || c === 12 || c === 13 || c === 0x85 || c === 0xa0

/** Go's unicode.IsSpace. */
const isUnicodeSpace = (c: number) =>
  isBlank(c) ||
  c === 10 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000

function trimEndUnicodeSpace(s: string): string {
  let end = s.length
  while (end > 0 && isUnicodeSpace(s.charCodeAt(end - 1))) end--
  return end === s.length ? s : s.slice(0, end)
}

const LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u
const isKeyChar = (cp: number) =>
  (cp >= 48 && cp <= 57) ||
  (cp >= 65 && cp <= 90) ||
  (cp >= 97 && cp <= 122) ||
  cp === 95 || cp === 46 || cp === 45 || cp === 91 || cp === 93 || // _ . - [ ]
  (cp > 127 && LETTER_OR_NUMBER.test(String.fromCodePoint(cp)))

/** Go's `^export\s+` test (`\s` is ASCII [\t\n\f\r ] there). */
const isGoRegexSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13

const ESCAPE_SEQUENCE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g
const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"',
}

/**
 * Escapes inside double quotes, as compose-go's expandEscapes: `\$` becomes `$$` (a literal `$` for the
 * interpolation that follows); `\0NNN` is rewritten to `\NNN` and decoded as Go's 3-digit octal escape, and when
 * that fails the rewritten text stays (so `\0` alone gives `\`); `\c` and anything else stay as written.
 */
function expandEscapes(s: string): string {
  if (!s.includes('\\')) return s
  return s.replace(ESCAPE_SEQUENCE, (match) => {
    if (match === '\\$') return '$$'
    if (match[1] !== '0') return SIMPLE_ESCAPES[match[1]] ?? match
    const octal = '\\' + match.slice(2)
    if (!/^\\[0-7]{3}$/.test(octal)) return octal
    const code = parseInt(octal.slice(1), 8)
    return code > 255 ? octal : String.fromCharCode(code)
  })
}

/** One `KEY=value` (or bare `KEY`) statement of an env file. */
export interface DotenvStatement {
  key: string
  /** The value; `undefined` for a bare key the lookup does not define (Compose skips it) or, with
   * `requiredVariables: 'ignore'`, a value that needs a missing `${X:?…}` variable. */
  value: string | undefined
  /** Bare `KEY` line: the value, if any, was inherited through the lookup. */
  bare: boolean
  /** 1-based line where the statement starts. */
  line: number
  /** Offsets into the text: the statement (at `export` if present), the key, and just past the value (an
   * unquoted value ends before its inline comment and trailing blanks; a bare key ends after the key). */
  start: number
  keyStart: number
  end: number
}

export interface ScanOptions {
  /**
   * The environment accumulated so far (Compose's env map across repeated --env-file): consulted after `lookup`,
   * and every value parsed from this text is written into it. Defaults to a fresh map.
   */
  env?: Map<string, string>
  /** 'ignore' turns a missing `${X:?…}` into an unknown (`undefined`) value instead of an error; for editors. */
  requiredVariables?: 'enforce' | 'ignore'
  /** the behaviours of the Compose version modelled (lib/env/compose-rules.ts); default: the current ones */
  rules?: DotenvRules
  /**
   * Keys set by earlier files of the chain (a subset of `env`). With `rules.earlierFilesFirst` (Compose before
   * 2.39.0) they win over a line earlier in this text while it is interpolated.
   */
  earlier?: ReadonlyMap<string, string>
}

/** What differs between Compose versions in reading env files (lib/env/compose-rules.ts picks them per version). */
export interface DotenvRules {
  /** before 2.39.0: while a later --env-file is interpolated, a key of an earlier file wins over this file's own earlier line */
  earlierFilesFirst: boolean
  /** before 2.39.3: an empty key or a NUL in a value of an --env-file fails the whole command (setenv) */
  setenvStrict: boolean
  /** before 5.0.2: a default's nested template is evaluated even when the default is not used */
  eagerDefaults: boolean
}
export const CURRENT_RULES: DotenvRules = { earlierFilesFirst: false, setenvStrict: false, eagerDefaults: false }

const noLookup: Lookup = () => undefined

/**
 * Every statement of an env file in file order, as compose-go's parser reads it. Throws EnvSyntaxError where
 * Compose fails. Interpolation sees `lookup` first, then the values parsed so far (`opts.env`); a bare key
 * inherits from `lookup` only. Text after a closing quote starts a new statement, and a statement that reaches
 * the end of the text without `=`, `:` or a newline is a value with an empty key (Compose's stray entry).
 */
export function scanDotenv(text: string, lookup: Lookup = noLookup, opts: ScanOptions = {}): DotenvStatement[] {
  const known = opts.env ?? new Map<string, string>()
  const tolerant = opts.requiredVariables === 'ignore'
  const rules = opts.rules ?? CURRENT_RULES
  const earlier = rules.earlierFilesFirst ? opts.earlier : undefined
  const resolve: Lookup = earlier ? (name) => lookup(name) ?? earlier.get(name) ?? known.get(name) : (name) => lookup(name) ?? known.get(name)
  const n = text.length
  const out: DotenvStatement[] = []
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0
  let line = 1

  const lineAt = (from: number) => {
    const eol = text.indexOf('\n', from)
    return text.slice(from, eol === -1 ? n : eol)
  }
  /** 1-based column of an offset, in characters of its line. */
  const columnOf = (offset: number) => [...text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset)].length + 1
  /** A quoted value that ran over line ends, and where its closing quote ended (see EnvSyntaxError.openedAt). */
  let multiline: { end: number; line: number; column: number; quote: string } | undefined

  /** Skips blank space and comment lines, counting newlines. */
  const skipToStatement = () => {
    for (;;) {
      while (pos < n && isUnicodeSpace(text.charCodeAt(pos))) {
        if (text.charCodeAt(pos) === 10) line++
        pos++
      }
      if (pos >= n || text.charCodeAt(pos) !== 35) return
      const eol = text.indexOf('\n', pos)
      pos = eol === -1 ? n : eol
    }
  }

  const expand = (raw: string, statementLine: number, valueStart: number): string | undefined => {
    try {
      return interpolate(raw, resolve, rules.eagerDefaults)
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err
      if (tolerant && err.code === 'missing-required') return undefined
      throw err.at(statementLine, columnOf(valueStart))
    }
  }

  for (;;) {
    skipToStatement()
    if (pos >= n) break
    const start = pos
    const statementLine = line
    const after = multiline && !text.slice(multiline.end, start).includes('\n') ? multiline : undefined
    multiline = undefined
    try {
    if (text.startsWith('export', pos) && isGoRegexSpace(text.charCodeAt(pos + 6))) {
      pos += 6
      while (pos < n && isBlank(text.charCodeAt(pos))) pos++
      if (pos >= n) throw new EnvSyntaxError('zero length string', 'empty-statement', line, line, columnOf(start))
    }
    const keyStart = pos

    // The key runs to `=`, `:` or a newline (a bare key); blanks are skipped here and rejected below.
    let i = pos
    let sep = -1
    while (i < n) {
      const cp = text.codePointAt(i)!
      if (cp === 61 || cp === 58 || cp === 10) {
        sep = cp
        break
      }
      if (!isBlank(cp) && !isKeyChar(cp)) {
        const message = `line ${line}: unexpected character ${goQuote(String.fromCodePoint(cp))} in variable name ${goQuote(lineAt(keyStart))}`
        throw new EnvSyntaxError(message, 'invalid-key', line, line, columnOf(i))
      }
      i += cp > 0xffff ? 2 : 1
    }
    const bare = sep === 10
    const rawKey = sep === -1 ? '' : text.slice(keyStart, i)
    if (bare && !rawKey.includes(' ')) line++
    const key = trimEndUnicodeSpace(rawKey)
    if (key.includes(' ')) throw new EnvSyntaxError(`line ${line}: key cannot contain a space`, 'key-space', line, line, columnOf(keyStart + key.indexOf(' ')))
    if (bare) {
      // Compose before 2.39.0 inherits from the shell, then from the earlier --env-files (measured with 2.26.1)
      const value = lookup(key) ?? earlier?.get(key)
      if (value !== undefined) known.set(key, value)
      out.push({ key, value, bare, line: statementLine, start, keyStart, end: keyStart + key.length })
      pos = i + 1
      continue
    }
    if (sep !== -1) pos = i + 1
    while (pos < n && isBlank(text.charCodeAt(pos))) pos++

    let value: string | undefined
    const quote = text.charCodeAt(pos)
    if (quote !== 34 && quote !== 39) {
      const valueStart = pos
      const eol = text.indexOf('\n', pos)
      let raw = text.slice(pos, eol === -1 ? n : eol)
      pos = eol === -1 ? n : eol + 1
      line++
      const comment = raw.indexOf(' #')
      raw = trimEndUnicodeSpace(comment === -1 ? raw : raw.slice(0, comment))
      value = expand(raw, statementLine, valueStart)
      out.push({ key, value, bare, line: statementLine, start, keyStart, end: valueStart + raw.length })
    } else {
      // A backslash keeps the next character (and itself), except before the quote, where it is dropped.
      let raw = ''
      let chunk = pos + 1
      let close = -1
      for (let j = pos + 1; j < n; j++) {
        const c = text.charCodeAt(j)
        if (c === 10) line++
        if (c === quote) {
          close = j
          break
        }
        if (c !== 92) continue
        if (j + 1 >= n) break
        const d = text.charCodeAt(j + 1)
        if (d === 10) line++
        if (d === quote) {
          raw += text.slice(chunk, j)
          chunk = j + 1
        }
        j++
      }
      if (close === -1) {
        const message = `line ${line}: unterminated quoted value ${lineAt(pos)}`
        throw new EnvSyntaxError(message, 'unterminated-quote', line, statementLine, columnOf(pos))
      }
      raw += text.slice(chunk, close)
      value = quote === 34 ? expand(expandEscapes(raw), statementLine, pos) : raw
      if (line > statementLine) multiline = { end: close + 1, line: statementLine, column: columnOf(pos), quote: String.fromCharCode(quote) }
      pos = close + 1
      out.push({ key, value, bare, line: statementLine, start, keyStart, end: pos })
    }
    if (value !== undefined) known.set(key, value)
    } catch (err) {
      if (after && err instanceof EnvSyntaxError && !(err instanceof InterpolationError)) err.openedAt = { line: after.line, column: after.column, quote: after.quote }
      throw err
    }
  }
  return out
}

/**
 * Compose before 2.39.3 passes every --env-file entry to setenv, which refuses an empty key and a NUL. Checked by
 * loadEnvLayers once every file is read (Compose calls setenv on the merged result, for keys the shell does not set).
 * The message says what is wrong and where, never the text itself (it may be a pasted secret).
 */
export function setenvCheck(s: DotenvStatement, text: string): void {
  const columnOf = (offset: number) => [...text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset)].length + 1
  if (s.key === '') {
    const what = text.charCodeAt(s.keyStart) === 61 ? 'a value with no key before "="' : 'text that is not KEY=value (a word without "=" at the end of the file, or text after a closing quote)'
    throw new EnvSyntaxError(`line ${s.line}: ${what}`, 'empty-key', s.line, s.line, columnOf(s.keyStart))
  }
  if (s.value?.includes('\0')) throw new EnvSyntaxError(`line ${s.line}: the value of ${s.key} holds a NUL character`, 'nul-value', s.line, s.line, columnOf(s.keyStart))
}

/** The entries of an env file with the line each starts on, in file order, later duplicates included. */
export function parseDotenvLines(text: string, lookup?: Lookup): Array<{ key: string; value: string; line: number }> {
  const entries: Array<{ key: string; value: string; line: number }> = []
  for (const s of scanDotenv(text, lookup)) if (s.value !== undefined) entries.push({ key: s.key, value: s.value, line: s.line })
  return entries
}

/** Parses an env file as Compose does; later duplicates win. Throws EnvSyntaxError. */
export function parseDotenv(text: string, lookup?: Lookup): Record<string, string> {
  const env = new Map<string, string>()
  scanDotenv(text, lookup, { env })
  return Object.fromEntries(env)
}

// ---------------------------------------------------------------------------------------------------------------
// Writing: always double quotes; `\` `"` `$` LF CR escaped, everything else literal.

const SERIALIZE_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', $: '$$', '\n': '\\n', '\r': '\\r' }
const VALID_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The double-quoted form Compose reads back as exactly `value`, whatever the lookup. Throws on NUL. */
export function serializeValue(value: string): string {
  if (value.includes('\0')) throw new Error('env values cannot contain a NUL character')
  return '"' + value.replace(/[\\"$\n\r]/g, (c) => SERIALIZE_ESCAPES[c]) + '"'
}

/** `KEY="…"`; throws for keys outside `^[A-Za-z_][A-Za-z0-9_]*$` (Compose could not interpolate them). */
export function serializeEntry(key: string, value: string): string {
  if (!VALID_KEY.test(key)) throw new Error(`invalid env key ${JSON.stringify(key)}: use letters, digits and _ only, not starting with a digit`)
  return `${key}=${serializeValue(value)}`
}
