// Random env files from the corners of Compose's dotenv grammar, for the
// differential test against the real `docker compose` (test/compose-diff.test.ts). Deterministic: a case is a
// function of its seed alone, so a disagreement is reproduced from the seed the test prints.

/** mulberry32: small, fast, good enough for test data. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
}

/** Keys the files define and reference; they overlap across files and with the shell on purpose. */
export const FILE_KEYS = ['A', 'B', 'C', 'D', 'DOMAIN', 'URL', 'x', '_u', 'K9', 'ſK'] as const
/** Shell variables a case may set (besides PATH and HOME). */
export const SHELL_KEYS = ['SH_A', 'SH_E', 'A', 'DOMAIN', 'x'] as const
/** Names referenced but (almost) never defined. */
const UNSET_KEYS = ['NOPE', 'UNSET_1'] as const
/** Keys the parser accepts but interpolation cannot reference. */
const ODD_KEYS = ['A.B', 'A-B', 'A[0]', '9A', 'ÄB'] as const
/** Keys Compose rejects: an unexpected character, a space. */
const BAD_KEYS = ['lol$wut', 'MY KEY', 'a"b', 'k/v'] as const

const WORD_CHARS = 'abcXYZ0129_./:@%+,=-'
const UNICODE = ['é', '日本', '🙂', 'ß', 'ſ', '\u00a0', 'Ω'] as const
const OPS = ['-', ':-', '+', ':+', '?', ':?'] as const

export interface GenOptions {
  /** how often a line carries a construct that can fail (a :? check, a bad key, an unterminated quote…) */
  errorRate: number
  /** names a reference may point at (defined keys, shell keys, unset ones) */
  refNames: readonly string[]
}

function word(r: Rng): string {
  let s = ''
  for (let n = 1 + r.int(6); n > 0; n--) s += WORD_CHARS[r.int(WORD_CHARS.length)]
  return s
}

/** `$X`, `${X}`, `${X<op>arg}` with a nested argument; `?` forms only when errors are allowed. */
function reference(r: Rng, o: GenOptions, depth: number): string {
  const name = r.chance(0.08) ? r.pick(UNSET_KEYS) : r.pick(o.refNames)
  const k = r.int(10)
  if (k < 2) return '$' + name
  if (k < 4) return '${' + name + '}'
  let op: string = r.pick(OPS)
  if (op.endsWith('?') && !r.chance(0.35)) op = op === '?' ? '-' : ':-'
  let arg = ''
  for (let n = r.int(3); n > 0; n--) arg += depth < 2 && r.chance(0.35) ? reference(r, o, depth + 1) : r.pick([word(r), ' ', '$$', r.pick(UNICODE), '/', 'a b'])
  return '${' + name + op + arg + '}'
}

function dollar(r: Rng, o: GenOptions): string {
  const k = r.int(10)
  if (k < 6) return reference(r, o, 0)
  if (k < 8) return '$$'
  if (r.chance(o.errorRate * 4)) return r.pick(['${a.b}', '${', '${}', '${1X}'])
  return r.pick(['$', '$2y', '$(x)', '$ ', '$-'])
}

function unquotedValue(r: Rng, o: GenOptions): string {
  let v = ''
  for (let n = r.int(5); n > 0; n--) {
    const k = r.int(20)
    if (k < 7) v += word(r)
    else if (k < 10) v += dollar(r, o)
    else if (k < 11) v += r.pick(UNICODE)
    else if (k < 12) v += ' '
    else if (k < 13) v += '\t'
    else if (k < 14) v += '#' + word(r)
    else if (k < 15) v += r.pick(['\\', '\\n', '`tick`', "a'b", 'a"b', '=', ':'])
    else v += word(r)
  }
  if (v.startsWith('"') || v.startsWith("'")) v = 'v' + v
  if (r.chance(0.15)) v += ' # ' + word(r) + r.pick(['', ' "open', " 'x", ' $$', ' ${a.b}'])
  if (r.chance(0.15)) v += r.pick([' ', '  ', '\t', ' \t '])
  return v
}

function doubleQuoted(r: Rng, o: GenOptions): string {
  let v = ''
  for (let n = r.int(6); n > 0; n--) {
    const k = r.int(24)
    if (k < 6) v += word(r)
    else if (k < 9) v += dollar(r, o)
    else if (k < 14) v += r.pick(['\\n', '\\t', '\\\\', '\\"', '\\$', '\\a', '\\b', '\\f', '\\r', '\\v', '\\0101', '\\012', '\\x41', '\\u00e9', '\\c', '\\0', '\\q', '\\\''])
    else if (k < 16) v += '\n' + word(r)
    else if (k < 17) v += r.pick(UNICODE)
    else if (k < 18) v += r.pick(["'", '#', ' # no comment', '`', '\t', ' '])
    else v += word(r)
  }
  return '"' + v + '"'
}

function singleQuoted(r: Rng): string {
  let v = ''
  for (let n = r.int(6); n > 0; n--) {
    const k = r.int(16)
    if (k < 6) v += word(r)
    else if (k < 9) v += r.pick(['$X', '${A}', '$$', '${A:-d}', '\\$'])
    else if (k < 12) v += r.pick(["\\'", '\\\\', '\\n', '"', '\\"'])
    else if (k < 13) v += '\n' + word(r)
    else if (k < 14) v += r.pick(UNICODE)
    else v += r.pick(['#', ' # x', ' ', '\t'])
  }
  return "'" + v + "'"
}

/** Text after a closing quote: usually nothing or a comment; rarely a stray word or a second statement. */
function afterQuote(r: Rng, o: GenOptions): string {
  if (r.chance(0.75)) return ''
  if (r.chance(0.5)) return r.pick([' # c', ' ', '\t# c', ' #'])
  if (r.chance(o.errorRate * 6)) return r.pick(['junk', ' junk', ' B=2', 'x y'])
  return ' '
}

function key(r: Rng, o: GenOptions, defined: readonly string[]): string {
  if (r.chance(o.errorRate)) return r.pick([...BAD_KEYS, ''])
  if (r.chance(0.05)) return r.pick(ODD_KEYS)
  return r.pick(defined)
}

function statement(r: Rng, o: GenOptions, keys: readonly string[]): string {
  let s = r.chance(0.1) ? r.pick([' ', '  ', '\t']) : ''
  if (r.chance(0.1)) s += r.pick(['export ', 'export  ', 'export\t'])
  s += key(r, o, keys)
  s += r.pick(['=', '=', '=', '=', ' = ', ': ', ':', '= '])
  const k = r.int(20)
  if (k < 2) return s
  if (k < 10) return s + unquotedValue(r, o)
  if (k < 15) return s + doubleQuoted(r, o) + afterQuote(r, o)
  if (k < 19) return s + singleQuoted(r) + afterQuote(r, o)
  // rare failures: an unterminated quote, a NUL
  if (r.chance(o.errorRate * 6)) return s + r.pick(['"open', "'open", '"ends with \\"', "'x\\'"])
  if (r.chance(o.errorRate * 6)) return s + r.pick(['a\0b', '"x\0y"'])
  return s + unquotedValue(r, o)
}

export interface EnvFileCase {
  seed: number
  text: string
}

/** One env file: statements, comments, blank and bare-key lines; LF or CRLF; sometimes a BOM or no final newline. */
export function genEnvFile(seed: number, o: Partial<GenOptions> = {}, keys: readonly string[] = FILE_KEYS): EnvFileCase {
  const r = new Rng(seed)
  const opts: GenOptions = { errorRate: o.errorRate ?? 0.004, refNames: o.refNames ?? [...FILE_KEYS, 'SH_A', 'SH_E', 'HOME'] }
  const lines: string[] = []
  for (let n = 1 + r.int(9); n > 0; n--) {
    const k = r.int(20)
    if (k < 14) lines.push(statement(r, opts, keys))
    else if (k < 16) lines.push(r.pick(['# comment', '  # indented $X ${', '#', '#A=1']))
    else if (k < 17) lines.push(r.pick(['', ' ', '\t']))
    else if (k < 18) lines.push(r.pick([...keys, 'PATH', 'HOME', 'SH_A']) + r.pick(['', ' ']))
    else lines.push(statement(r, opts, keys))
  }
  const eol = r.chance(0.15) ? '\r\n' : '\n'
  let text = lines.join(eol)
  if (r.chance(0.8)) text += eol
  if (r.chance(0.05)) text = '\ufeff' + text
  return { seed, text }
}

export interface LayerCase {
  seed: number
  /** file name → text, in --env-file order (lowest first); the derived layer is not among them */
  files: Array<[string, string]>
  derived?: Record<string, string>
  /** the shell besides PATH and HOME */
  shell: Record<string, string>
}

/** A --env-file chain: .env.global-, .env-, .env.infisical-like files (each sometimes absent), sometimes a derived layer, and shell variables. */
export function genLayerCase(seed: number, errorRate = 0.002): LayerCase {
  const r = new Rng(seed ^ 0x5bd1e995)
  const names = ['.env.global', '.env', '.env.infisical'].filter(() => r.chance(0.8))
  if (names.length === 0) names.push('.env')
  const files = names.map((name, i) => [name, genEnvFile(seed * 4 + i + 1, { errorRate }).text] as [string, string])
  let derived: Record<string, string> | undefined
  if (r.chance(0.3)) {
    derived = {}
    for (let n = 1 + r.int(3); n > 0; n--) derived[r.pick(['URL', 'DOMAIN', 'D', 'N8N_URL'])] = r.pick(['http://localhost:5678', 'https://n8n.$DOMAIN', '', 'a"b\\c', '${A}', 'two\nlines', 'é 🙂'])
  }
  const shell: Record<string, string> = {}
  for (const k of SHELL_KEYS) if (r.chance(0.35)) shell[k] = k === 'SH_E' ? '' : r.pick(['shell', '', '$x', 'a b', '${A}', 'sh\\ell', 'ü'])
  return { seed, files, derived, shell }
}
