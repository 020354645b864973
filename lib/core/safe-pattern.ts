// Which regular expressions a compose file may declare (x-secrets `pattern`): ones that compile, are short, and
// cannot backtrack exponentially (no repeated group that itself repeats or holds alternatives, no backreferences);
// and the bound on what they are matched against. Pure: no I/O.

/** the longest pattern accepted */
export const MAX_PATTERN_LENGTH = 500
/** the longest value matched against a pattern (a longer one is refused without matching) */
export const MAX_PATTERN_INPUT = 4096

/** Why `source` is not an acceptable pattern, or undefined when it is. */
export function patternProblem(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `is ${source.length} characters long, at most ${MAX_PATTERN_LENGTH}`
  try {
    new RegExp(source)
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')})`
  }
  return backtrackingProblem(source)
}

interface Group {
  /** some quantifier inside (at any depth) */
  quantified: boolean
  /** a `|` inside (at any depth) */
  alternation: boolean
}

/**
 * Star height and friends, on a pattern that compiles: refuses a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1)
 * holding a quantifier or alternatives, like `(a+)+` or `(a|a)*`, and backreferences.
 */
function backtrackingProblem(s: string): string | undefined {
  const stack: Group[] = [{ quantified: false, alternation: false }]
  const top = () => stack[stack.length - 1]
  /** what the last atom was: a group's flags, or a plain atom */
  let last: Group | 'atom' | undefined
  let i = 0
  while (i < s.length) {
    const c = s[i]
    if (c === '\\') {
      const n = s[i + 1]
      if (/[1-9]/.test(n) || (n === 'k' && s[i + 2] === '<')) return 'uses a backreference, which can take exponential time to match'
      i += 2
      if ((n === 'u' || n === 'p' || n === 'P') && s[i] === '{') i = s.indexOf('}', i) + 1
      last = 'atom'
      continue
    }
    if (c === '[') {
      i++
      if (s[i] === '^') i++
      if (s[i] === ']') i++
      while (i < s.length && s[i] !== ']') i += s[i] === '\\' ? 2 : 1
      i++
      last = 'atom'
      continue
    }
    if (c === '(') {
      stack.push({ quantified: false, alternation: false })
      i++
      if (s[i] === '?') {
        i++
        if (s[i] === '<' && s[i + 1] !== '=' && s[i + 1] !== '!') i = s.indexOf('>', i) + 1
        else i += s[i] === '<' ? 2 : 1
      }
      last = undefined
      continue
    }
    if (c === ')') {
      const g = stack.pop()!
      // what a group holds, its enclosing groups hold too
      if (g.quantified) top().quantified = true
      if (g.alternation) top().alternation = true
      last = g
      i++
      continue
    }
    if (c === '|') {
      top().alternation = true
      last = undefined
      i++
      continue
    }
    const q = /^(?:[*+?]|\{(\d+)(,(\d*))?\})/.exec(s.slice(i))
    if (q && last !== undefined) {
      const max = q[0] === '?' ? 1 : q[0] === '*' || q[0] === '+' ? Infinity : q[2] === undefined ? Number(q[1]) : q[3] === '' ? Infinity : Number(q[3])
      if (typeof last === 'object' && max > 1) {
        if (last.quantified) return `repeats a group that itself repeats (nested quantifiers, like (a+)+), which can take exponential time to match`
        if (last.alternation) return `repeats a group of alternatives (like (a|ab)*), which can take exponential time to match; use a character class or a single branch`
      }
      top().quantified = true
      i += q[0].length
      if (s[i] === '?') i++ // lazy
      last = undefined
      continue
    }
    last = 'atom'
    i++
  }
  return undefined
}
