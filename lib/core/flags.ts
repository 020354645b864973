// Command-line parsing from declarations, and help rendered from the same declarations: pure.
// A task's own argv only (never zx's global minimist argv, which swallows `--dry-run stack`).
import { UsageError } from './errors.ts'
import { table, commaList } from './format.ts'

export type FlagDecl =
  | { type: 'boolean'; help: string; default?: boolean; short?: string }
  | { type: 'string'; help: string; default?: string; choices?: readonly string[]; placeholder?: string; short?: string }
  /** Repeatable (`--stack a --stack b`) and comma-separated (`--stack a,b`); always an array. */
  | { type: 'strings'; help: string; choices?: readonly string[]; placeholder?: string }
  | { type: 'number'; help: string; default?: number; placeholder?: string; min?: number; integer?: boolean }

export type FlagDecls = Record<string, FlagDecl>

export interface ArgDecl {
  name: string
  help: string
  required?: boolean
  choices?: readonly string[]
  /** Collects every remaining positional (last declaration only). */
  variadic?: boolean
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S
type ValueOf<D> = D extends { type: 'boolean' }
  ? boolean
  : D extends { type: 'number' }
    ? number
    : D extends { type: 'strings'; choices: readonly (infer C)[] }
      ? C[]
      : D extends { type: 'strings' }
        ? string[]
        : D extends { type: 'string'; choices: readonly (infer C)[] }
          ? C
          : string
type Defaulted<D> = D extends { default: unknown } ? true : D extends { type: 'strings' } ? true : false
export type Flags<F extends FlagDecls> = {
  [K in keyof F & string as Camel<K>]: Defaulted<F[K]> extends true ? ValueOf<F[K]> : ValueOf<F[K]> | undefined
}

export interface Parsed {
  flags: Record<string, unknown>
  args: Record<string, string | string[] | undefined>
}

export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

export function parseArgv(argv: readonly string[], decls: FlagDecls, argDecls: readonly ArgDecl[] = []): Parsed {
  const flags: Record<string, unknown> = {}
  for (const [name, d] of Object.entries(decls)) {
    if (d.type === 'strings') flags[camel(name)] = []
    else if ('default' in d && d.default !== undefined) flags[camel(name)] = d.default
  }
  const shorts = new Map<string, string>()
  for (const [name, d] of Object.entries(decls)) if ('short' in d && d.short) shorts.set(d.short, name)

  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      let name = eq === -1 ? token.slice(2) : token.slice(2, eq)
      let inline: string | undefined = eq === -1 ? undefined : token.slice(eq + 1)
      let negated = false
      if (!(name in decls) && name.startsWith('no-') && decls[name.slice(3)]?.type === 'boolean') {
        name = name.slice(3)
        negated = true
      }
      const d = decls[name]
      if (!d) throw unknownFlag(`--${name}`, decls)
      if (d.type === 'boolean') {
        if (inline !== undefined) {
          if (negated || !/^(true|false)$/.test(inline))
            throw new UsageError(`--${name} takes no value (got "${inline}")`, { hint: `use --${name} or --no-${name}` })
          flags[camel(name)] = inline === 'true'
        } else flags[camel(name)] = !negated
        continue
      }
      if (inline === undefined) {
        const next = argv[i + 1]
        if (next === undefined || (next.startsWith('-') && next !== '-' && !/^-\d/.test(next)))
          throw new UsageError(`--${name} needs a value`, { hint: 'choices' in d && d.choices ? `one of: ${d.choices.join(' | ')}` : `e.g. --${name}=${placeholder(name, d)}` })
        inline = next
        i++
      }
      assign(flags, name, d, inline)
      continue
    }
    if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      // -y, -h; clusters of boolean shorts (-yv) are allowed
      for (const ch of token.slice(1)) {
        const name = shorts.get(ch)
        if (!name) throw unknownFlag(`-${ch}`, decls)
        const d = decls[name]
        if (d.type !== 'boolean') {
          if (token.length !== 2) throw new UsageError(`-${ch} needs a value and cannot be combined`)
          const next = argv[++i]
          if (next === undefined) throw new UsageError(`-${ch} needs a value`)
          assign(flags, name, d, next)
        } else flags[camel(name)] = true
      }
      continue
    }
    positionals.push(token)
  }

  const args: Parsed['args'] = {}
  let p = 0
  for (const a of argDecls) {
    if (a.variadic) {
      const rest = positionals.slice(p)
      p = positionals.length
      for (const v of rest) checkChoice(a.name.toUpperCase(), v, a.choices)
      if (a.required && rest.length === 0) throw missingArg(a)
      args[a.name] = rest
      continue
    }
    const v = positionals[p]
    if (v === undefined) {
      if (a.required) throw missingArg(a)
      continue
    }
    checkChoice(a.name.toUpperCase(), v, a.choices)
    args[a.name] = v
    p++
  }
  if (p < positionals.length) {
    const extra = positionals.slice(p)
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`, {
      hint: argDecls.length ? `this task takes: ${argDecls.map(fmtArg).join(' ')}` : 'this task takes no positional arguments; see --help',
    })
  }
  return { flags, args }
}

function assign(flags: Record<string, unknown>, name: string, d: FlagDecl, raw: string): void {
  const key = camel(name)
  switch (d.type) {
    case 'string':
      checkChoice(`--${name}`, raw, d.choices)
      flags[key] = raw
      return
    case 'strings': {
      const values = commaList(raw)
      for (const v of values) checkChoice(`--${name}`, v, d.choices)
      flags[key] = [...((flags[key] as string[]) ?? []), ...values]
      return
    }
    case 'number': {
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n) || (d.integer && !Number.isInteger(n)))
        throw new UsageError(`--${name} must be a${d.integer ? 'n integer' : ' number'} (got "${raw}")`)
      if (d.min !== undefined && n < d.min) throw new UsageError(`--${name} must be at least ${d.min} (got ${n})`)
      flags[key] = n
      return
    }
    case 'boolean':
      flags[key] = raw === 'true'
  }
}

function checkChoice(what: string, v: string, choices?: readonly string[]): void {
  if (choices && !choices.includes(v))
    throw new UsageError(`${what}: "${v}" is not one of ${choices.join(', ')}`, { hint: `choose one of: ${choices.join(' | ')}` })
}

function missingArg(a: ArgDecl): UsageError {
  return new UsageError(`missing argument ${a.name.toUpperCase()}`, {
    hint: a.choices ? `${a.name.toUpperCase()} is one of: ${a.choices.join(' | ')}` : a.help,
  })
}

function unknownFlag(flag: string, decls: FlagDecls): UsageError {
  const names = Object.keys(decls)
  const bare = flag.replace(/^-+/, '')
  const near = names
    .map((n) => ({ n, d: distance(bare, n) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(x.n.length / 3)))
    .sort((a, b) => a.d - b.d)[0]
  return new UsageError(`unknown flag ${flag}`, {
    hint: near ? `did you mean --${near.n}? (see --help)` : 'see --help for the flags this task accepts',
  })
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) dp[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return dp[a.length][b.length]
}

function placeholder(name: string, d: FlagDecl): string {
  if ('placeholder' in d && d.placeholder) return d.placeholder
  return d.type === 'number' ? 'N' : name.toUpperCase().replace(/-/g, '_')
}

function fmtArg(a: ArgDecl): string {
  const n = a.name.toUpperCase() + (a.variadic ? '...' : '')
  return a.required ? n : `[${n}]`
}

export interface HelpSpec {
  command: string
  summary: string
  description?: string
  args: readonly ArgDecl[]
  flags: FlagDecls
  common: FlagDecls
  examples?: readonly string[]
}

/** Help text rendered from the declarations, so it cannot drift from what the parser accepts. */
export function renderHelp(spec: HelpSpec): string {
  const usage = [spec.command, ...spec.args.map(fmtArg), Object.keys(spec.flags).length ? '[flags]' : ''].filter(Boolean)
  const parts = [spec.summary, '', `Usage: ${usage.join(' ')}`]
  if (spec.description) parts.push('', spec.description.trim())
  if (spec.args.length) {
    parts.push('', 'Arguments:')
    parts.push(table(spec.args.map((a) => [a.name.toUpperCase(), describe(a.help, a.choices)]), { indent: '  ' }))
  }
  const rows = (decls: FlagDecls) =>
    Object.entries(decls).map(([name, d]) => {
      const short = 'short' in d && d.short ? `-${d.short}, ` : ''
      const value = d.type === 'boolean' ? '' : ` ${placeholder(name, d)}`
      const repeat = d.type === 'strings' ? ' (repeatable)' : ''
      const def = 'default' in d && d.default !== undefined && d.type !== 'boolean' ? ` [default: ${d.default}]` : ''
      return [`${short}--${name}${value}`, describe(d.help, d.type === 'boolean' ? undefined : (d as { choices?: readonly string[] }).choices) + repeat + def]
    })
  if (Object.keys(spec.flags).length) parts.push('', 'Flags:', table(rows(spec.flags), { indent: '  ' }))
  parts.push('', 'Common flags:', table(rows(spec.common), { indent: '  ' }))
  parts.push('', 'Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 130 cancelled.')
  if (spec.examples?.length) parts.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`))
  return parts.join('\n')
}

function describe(help: string, choices?: readonly string[]): string {
  return choices ? `${help} (${choices.join(' | ')})` : help
}
