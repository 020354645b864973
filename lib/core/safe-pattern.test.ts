// Patterns a compose file may declare: compiling, short, and without exponential backtracking.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_PATTERN_LENGTH, patternProblem } from './safe-pattern.ts'

test('ordinary token patterns are accepted', () => {
  for (const p of ['^sk-[A-Za-z0-9]{20,}$', '^(sk|pk)_(live|test)_[A-Za-z0-9]+$', '^[0-9a-f]{32}$', '^\\d+$', '^(?:[a-z]+)$', '^(ab)?c+$', '^(?<id>[a-z]{3})-\\p{L}+$', '^[(+)]+\\.x{2}$', '^a+b*c?$', '^(?=.*[A-Z]).{8,}$'])
    assert.equal(patternProblem(p), undefined, p)
})

test('a pattern that does not compile says why', () => {
  assert.match(patternProblem('(') ?? '', /^is not a valid regular expression \(.*\)$/)
  assert.match(patternProblem('[a-') ?? '', /not a valid regular expression/)
})

test('nested quantifiers, repeated alternatives and backreferences are refused', () => {
  for (const p of ['^(a+)+$', '(a*)*', '((a+)b)+', '(a{1,3}){2,}', '(\\w+\\s?)*$', '(?:x+y?)+'])
    assert.match(patternProblem(p) ?? '', /nested quantifiers/, p)
  for (const p of ['(a|aa)+', '^(a|ab)*c$', '((a|b)c)+']) assert.match(patternProblem(p) ?? '', /group of alternatives/, p)
  for (const p of ['(a)\\1', '(?<x>a)\\k<x>']) assert.match(patternProblem(p) ?? '', /backreference/, p)
})

test('an overlong pattern is refused', () => {
  assert.match(patternProblem('a'.repeat(MAX_PATTERN_LENGTH + 1)) ?? '', /at most 500/)
})
