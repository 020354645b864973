// Tests for lib/env/dotenv.ts: table tests ported from compose-go (dotenv/*_test.go, dotenv/fixtures, template/*_test.go at
// e70e961), Compose's observed behaviour on the grammar's corners, the serialization examples, and fast-check properties.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  EnvSyntaxError,
  InterpolationError,
  interpolate,
  parseDotenv,
  parseDotenvLines,
  scanDotenv,
  serializeEntry,
  serializeValue,
  templateVariables,
  type Lookup,
} from './dotenv.ts'

const fromMap =
  (env: Record<string, string>): Lookup =>
  (name) =>
    Object.hasOwn(env, name) ? env[name] : undefined

const throwsSyntax = (fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EnvSyntaxError, `expected EnvSyntaxError, got ${String(err)}`)
    if (typeof message === 'string') assert.equal(err.message, message)
    else assert.match(err.message, message)
    return true
  })

// --- compose-go dotenv/fixtures (contents inlined) ---------------------------------------------------------------
const fixtures = {
  plain: 'OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n',
  quoted:
    "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\n" +
    "OPTION_I = \"echo 'asd'\" # Inline comment\nOPTION_J = 'first line\nsecond line\nthird line\nand so on'\n" +
    "OPTION_K='Let\\'s go!'\nOPTION_Z = \"last value\"\n",
  unquoted:
    'OPTION_A = "some quoted phrase"\nOPTION_B=first one with an unquoted phrase\nOPTION_C = then another one with an unquoted phrase\n' +
    'OPTION_D = then another one with an unquoted phrase special è char\nOPTION_E = "then another one quoted phrase"\n',
  exported: "export OPTION_A=2\nexport OPTION_B='\\n'\n",
  equals: "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n",
  special: 'VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\nVAR-WITH-DASHES=dashes\n',
  substitutions: 'OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n',
  substitutionsDefault: 'OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n',
  inheritedMulti: 'foo=bar\nVAR_TO_BE_LOADED_FROM_OS_ENV\nbar=baz\n',
  inheritedSingle: 'VAR_TO_BE_LOADED_FROM_OS_ENV\n',
  inheritedNotFound: 'VARIABLE_NOT_FOUND\n',
  invalid1: '# some comments\nfoo="\n  a\n  multine\n  value\n"\nINVALID LINE\nzot=qix',
  utf8Bom: '\uFEFFOPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F =\nOPTION_G=\nOPTION_H = my string # Inline comment\n',
}

describe('parseDotenv: compose-go TestParsing (parseAndCompare)', () => {
  const cases: Array<[input: string, key: string, value: string]> = [
    ['FOO=bar', 'FOO', 'bar'],
    ['FOO =bar', 'FOO', 'bar'],
    ['FOO= bar', 'FOO', 'bar'],
    ['FOO="bar"', 'FOO', 'bar'],
    ["FOO='bar'", 'FOO', 'bar'],
    [String.raw`FOO="escaped\"bar"`, 'FOO', 'escaped"bar'],
    [String.raw`FOO="\"quoted\""`, 'FOO', '"quoted"'],
    [`FOO="'d'"`, 'FOO', "'d'"],
    ['OPTION_A: 1', 'OPTION_A', '1'],
    ['OPTION_A: Foo=bar', 'OPTION_A', 'Foo=bar'],
    ['OPTION_A=1:B', 'OPTION_A', '1:B'],
    ['export OPTION_A=2', 'OPTION_A', '2'],
    [String.raw`export OPTION_B='\n'`, 'OPTION_B', '\\n'],
    ['export exportFoo=2', 'exportFoo', '2'],
    ['exportFOO=2', 'exportFOO', '2'],
    ['export_FOO =2', 'export_FOO', '2'],
    ['export.FOO= 2', 'export.FOO', '2'],
    ['export\tOPTION_A=2', 'OPTION_A', '2'],
    ['  export OPTION_A=2', 'OPTION_A', '2'],
    ['\texport OPTION_A=2', 'OPTION_A', '2'],
    ['export OPTION_A="export A"', 'OPTION_A', 'export A'],
    [String.raw`FOO="bar\nbaz"`, 'FOO', 'bar\nbaz'],
    [String.raw`FOO=a\tb`, 'FOO', String.raw`a\tb`],
    [String.raw`FOO="a\tb"`, 'FOO', 'a\tb'],
    [String.raw`KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z"`, 'KEY', 'Z\x07Z\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ'],
    ['FOO.BAR=foobar', 'FOO.BAR', 'foobar'],
    ['FOO=foobar=', 'FOO', 'foobar='],
    ['FOO=bar ', 'FOO', 'bar'],
    ['FOO=bar # this is foo', 'FOO', 'bar'],
    ['FOO=bar #this is foo', 'FOO', 'bar'],
    ['FOO=bar #', 'FOO', 'bar'],
    ['FOO=123#not-an-inline-comment', 'FOO', '123#not-an-inline-comment'],
    ['FOO="bar#baz"', 'FOO', 'bar#baz'],
    ['FOO="bar#baz"#', 'FOO', 'bar#baz'],
    ['FOO="bar#baz" # comment', 'FOO', 'bar#baz'],
    ["FOO='bar#baz' # comment", 'FOO', 'bar#baz'],
    ['FOO="bar#baz#bang" # comment', 'FOO', 'bar#baz#bang'],
    ['FOO="ba#r"', 'FOO', 'ba#r'],
    ["FOO='ba#r'", 'FOO', 'ba#r'],
    [String.raw`FOO="bar\n\ b\az"`, 'FOO', 'bar\n\\ b\x07z'],
    [String.raw`FOO="bar\\\n\ b\az"`, 'FOO', 'bar\\\n\\ b\x07z'],
    [String.raw`FOO="bar\\r\ b\az"`, 'FOO', 'bar\\r\\ b\x07z'],
    [String.raw`FOO="bar\nbaz\\"`, 'FOO', 'bar\nbaz\\'],
    ['="value"', '', 'value'],
    [' KEY =value', 'KEY', 'value'],
    ['   KEY=value', 'KEY', 'value'],
    ['\tKEY=value', 'KEY', 'value'],
    [String.raw`KEY="\0123"`, 'KEY', 'S'],
    [String.raw`KEY="\x07"`, 'KEY', String.raw`\x07`],
    [String.raw`KEY="\u12e4"`, 'KEY', String.raw`\u12e4`],
    [String.raw`KEY="\U00101234"`, 'KEY', String.raw`\U00101234`],
  ]
  for (const [input, key, value] of cases) {
    test(JSON.stringify(input), () => {
      const env = parseDotenv(input)
      assert.ok(Object.hasOwn(env, key), `key ${JSON.stringify(key)} missing from ${JSON.stringify(env)}`)
      assert.equal(env[key], value)
    })
  }
  test('lol$wut is an error', () => {
    throwsSyntax(() => parseDotenv('lol$wut'), 'line 1: unexpected character "$" in variable name "lol$wut"')
  })
})

describe('parseDotenv: compose-go parser and loader tests', () => {
  test('TestParse', () => {
    assert.deepEqual(parseDotenv('ONE=1\nTWO=\'2\'\nTHREE = "3"'), { ONE: '1', TWO: '2', THREE: '3' })
  })

  const expanding: Array<[name: string, input: string, expected: Record<string, string>]> = [
    ['expands variables found in values', 'FOO=test\nBAR=$FOO', { FOO: 'test', BAR: 'test' }],
    ['parses variables wrapped in brackets', 'FOO=test\nBAR=${FOO}bar', { FOO: 'test', BAR: 'testbar' }],
    ['expands undefined variables to an empty string', 'BAR=$FOO', { BAR: '' }],
    ['expands variables in double quoted strings', 'FOO=test\nBAR="quote $FOO"', { FOO: 'test', BAR: 'quote test' }],
    ['does not expand variables in single quoted strings', "BAR='quote $FOO'", { BAR: 'quote $FOO' }],
    ['does not expand escaped variables 1', String.raw`FOO="foo\$BAR"`, { FOO: 'foo$BAR' }],
    ['does not expand escaped variables 2', String.raw`FOO="foo\${BAR}"`, { FOO: 'foo${BAR}' }],
    ['does not expand escaped variables 3', 'FOO=test\nBAR="foo\\${FOO} ${FOO}"', { FOO: 'test', BAR: 'foo${FOO} test' }],
  ]
  for (const [name, input, expected] of expanding) test(`TestExpanding: ${name}`, () => assert.deepEqual(parseDotenv(input), expected))

  test('TestVariableStringValueSeparator', () => {
    const input = 'TEST_URLS="stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443"'
    assert.deepEqual(parseDotenv(input), { TEST_URLS: 'stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443' })
  })

  for (const input of ['KEY="', 'KEY="value', String.raw`KEY="value\"`, `KEY="value'`, "KEY='", "KEY='value", String.raw`KEY='value\'`, `KEY='value"`]) {
    test(`TestUnterminatedQuotes ${input}`, () => throwsSyntax(() => parseDotenv(input), /unterminated quoted value/))
  }

  const ignored: Array<[name: string, input: string]> = [
    ['Line with nothing but line break', '\n'],
    ['Line with nothing but windows-style line break', '\r\n'],
    ['Line full of whitespace', '\t\t '],
    ['Comment', '# Comment'],
    ['Indented comment', '\t # comment'],
  ]
  for (const [name, input] of ignored) test(`TestLinesToIgnore: ${name}`, () => assert.deepEqual(parseDotenv(input), {}))
  test('TestLinesToIgnore: non-ignored value', () => assert.deepEqual(parseDotenv(String.raw`export OPTION_B='\n'`), { OPTION_B: '\\n' }))

  test('TestErrorParsing (fixtures/invalid1.env)', () => {
    throwsSyntax(() => parseDotenv(fixtures.invalid1), 'line 7: key cannot contain a space')
  })

  test('TestReadPlainEnv (Compose keeps the digit key 456 at this level; only godotenv.Read drops it)', () => {
    assert.deepEqual(parseDotenv(fixtures.plain), {
      OPTION_A: '1', OPTION_B: '2', OPTION_C: '3', OPTION_D: '4', OPTION_E: '5', 456: 'ABC', OPTION_F: '', OPTION_G: '', OPTION_H: 'my string',
    })
  })
  test('TestLoadExportedEnv', () => assert.deepEqual(parseDotenv(fixtures.exported), { OPTION_A: '2', OPTION_B: '\\n' }))
  test('TestLoadEqualsEnv', () => assert.deepEqual(parseDotenv(fixtures.equals), { OPTION_A: 'postgres://localhost:5432/database?sslmode=disable' }))
  test('TestLoadQuotedEnv', () => {
    assert.deepEqual(parseDotenv(fixtures.quoted), {
      OPTION_A: '1', OPTION_B: '2', OPTION_C: '', OPTION_D: '\\n', OPTION_E: '1', OPTION_F: '2', OPTION_G: '', OPTION_H: '\n',
      OPTION_I: "echo 'asd'", OPTION_J: 'first line\nsecond line\nthird line\nand so on', OPTION_K: "Let's go!", OPTION_Z: 'last value',
    })
  })
  test('TestLoadUnquotedEnv', () => {
    assert.deepEqual(parseDotenv(fixtures.unquoted), {
      OPTION_A: 'some quoted phrase',
      OPTION_B: 'first one with an unquoted phrase',
      OPTION_C: 'then another one with an unquoted phrase',
      OPTION_D: 'then another one with an unquoted phrase special è char',
      OPTION_E: 'then another one quoted phrase',
    })
  })
  test('TestSubstitutions', () => {
    assert.deepEqual(parseDotenv(fixtures.substitutions), { OPTION_A: '1', OPTION_B: '1', OPTION_C: '1', OPTION_D: '1_1', OPTION_E: '' })
  })
  test('TestSubstitutionsWithEnvFilePrecedence: the lookup wins over earlier lines', () => {
    assert.deepEqual(parseDotenv(fixtures.substitutions, fromMap({ OPTION_A: '5' })), { OPTION_A: '1', OPTION_B: '5', OPTION_C: '5', OPTION_D: '5_5', OPTION_E: '' })
  })
  test('TestSubstitutionsWithEnvFileDefaultValuePrecedence', () => {
    assert.deepEqual(parseDotenv(fixtures.substitutionsDefault, fromMap({ OPTION_A: '5' })), { OPTION_A: '5', OPTION_B: '5', OPTION_C: '5', OPTION_D: '5_5', OPTION_E: '' })
  })
  test('TestSubstitutionsWithUnsetVarEnvFileDefaultValuePrecedence', () => {
    assert.deepEqual(parseDotenv(fixtures.substitutionsDefault, fromMap({})), { OPTION_A: '1', OPTION_B: '1', OPTION_C: '1', OPTION_D: '1_1', OPTION_E: '' })
  })
  const osEnv = fromMap({ VAR_TO_BE_LOADED_FROM_OS_ENV: 'SOME_RANDOM_VALUE' })
  test('TestInheritedEnvVariableSameSize', () => {
    assert.deepEqual(parseDotenv(fixtures.inheritedMulti, osEnv), { foo: 'bar', VAR_TO_BE_LOADED_FROM_OS_ENV: 'SOME_RANDOM_VALUE', bar: 'baz' })
  })
  test('TestInheritedEnvVariableSingleVar', () => {
    assert.deepEqual(parseDotenv(fixtures.inheritedSingle, osEnv), { VAR_TO_BE_LOADED_FROM_OS_ENV: 'SOME_RANDOM_VALUE' })
  })
  test('TestInheritedEnvVariableNotFound', () => assert.deepEqual(parseDotenv(fixtures.inheritedNotFound), {}))
  test('TestInheritedEnvVariableNotFoundWithLookup: the lookup is asked and the key stays absent', () => {
    const asked: string[] = []
    const env = parseDotenv(fixtures.inheritedNotFound, (name) => {
      asked.push(name)
      return undefined
    })
    assert.deepEqual(env, {})
    assert.deepEqual(asked, ['VARIABLE_NOT_FOUND'])
  })
  test('TestExpandingEnvironmentWithLookup', () => {
    assert.deepEqual(parseDotenv('TEST=$ME', (name) => (name === 'ME' ? 'YES' : undefined)), { TEST: 'YES' })
  })
  test('TestUTF8BOM', () => {
    assert.deepEqual(parseDotenv(fixtures.utf8Bom), {
      OPTION_A: '1', OPTION_B: '2', OPTION_C: '3', OPTION_D: '4', OPTION_E: '5', 456: 'ABC', OPTION_F: '', OPTION_G: '', OPTION_H: 'my string',
    })
  })
  test('TestDash', () => {
    assert.deepEqual(parseDotenv(fixtures.special), { 'VAR.WITH.DOTS': 'dots', VAR_WITH_UNDERSCORES: 'underscores', 'VAR-WITH-DASHES': 'dashes' })
  })
  test('TestParseBytes', () => {
    const input = '\na=b\na[1]=c\na.propertyKey=d\nárvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n'
    assert.deepEqual(parseDotenv(input), { a: 'b', 'a[1]': 'c', 'a.propertyKey': 'd', 'árvíztűrő-TÜKÖRFÚRÓGÉP': 'ÁRVÍZTŰRŐ-tükörfúrógép' })
  })
  test('TestParseVariable', () => {
    throwsSyntax(() => parseDotenv('%!(EXTRA string)=foo'), 'line 1: unexpected character "%" in variable name "%!(EXTRA string)=foo"')
  })
  test('TestMemoryExplosion: 1000 keys', () => {
    const input = Array.from({ length: 1000 }, (_, i) => `KEY${i}=VALUE${i}`).join('\n')
    const env = parseDotenv(input)
    assert.equal(Object.keys(env).length, 1000)
    assert.equal(env.KEY999, 'VALUE999')
  })
})

describe('interpolate: compose-go godotenv_var_expansion_test (expandVariables)', () => {
  const lookup = fromMap({ EMPTY_VAR: '', TEST_VAR: 'Test Value' })
  const ok: Array<[input: string, result: string]> = [
    ['RESULT=${UNSET_VAR:-Default Value}', 'RESULT=Default Value'],
    ['RESULT=${EMPTY_VAR:-Default Value}', 'RESULT=Default Value'],
    ['RESULT=${TEST_VAR:-Default Value}', 'RESULT=Test Value'],
    ['RESULT=${UNSET_VAR-Default Value}', 'RESULT=Default Value'],
    ['RESULT=${EMPTY_VAR-Default Value}', 'RESULT='],
    ['RESULT=${TEST_VAR-Default Value}', 'RESULT=Test Value'],
    ['RESULT=${TEST_VAR:?Default Value}', 'RESULT=Test Value'],
    ['RESULT=${EMPTY_VAR?Test error}', 'RESULT='],
    ['RESULT=${TEST_VAR?Default Value}', 'RESULT=Test Value'],
  ]
  for (const [input, result] of ok) test(input, () => assert.equal(interpolate(input, lookup), result))
  const errors: Array<[input: string, message: string]> = [
    ['RESULT=${UNSET_VAR:?Test error}', 'required variable UNSET_VAR is missing a value: Test error'],
    ['RESULT=${EMPTY_VAR:?Test error}', 'required variable EMPTY_VAR is missing a value: Test error'],
    ['RESULT=${UNSET_VAR?Test error}', 'required variable UNSET_VAR is missing a value: Test error'],
  ]
  for (const [input, message] of errors) {
    test(input, () =>
      assert.throws(() => interpolate(input, lookup), (err: unknown) => err instanceof InterpolationError && err.message === message && err.code === 'missing-required'),
    )
  }
})

describe('interpolate: compose-go template_test', () => {
  const defaults = fromMap({ FOO: 'first', BAR: '', JSON: '{"json":2}' })
  const ok: Array<[template: string, expected: string]> = [
    ['$${foo}', '${foo}'], // TestEscaped
    ['foo', 'foo'], // TestSubstituteNoMatch
    ['a $ string', 'a $ string'], // TestUnescaped
    ['^REGEX$', '^REGEX$'],
    ['$}', '$}'],
    ['$', '$'],
    ['$FOO-bar', 'first-bar'], // TestNonBraced
    ['This ${missing} var', 'This  var'], // TestNoValueNoDefault
    ['This ${BAR} var', 'This  var'],
    ['This $FOO var', 'This first var'], // TestValueNoDefault
    ['This ${FOO} var', 'This first var'],
    ['ok ${missing:-def}', 'ok def'], // TestNoValueWithDefault
    ['ok ${missing-def}', 'ok def'],
    ['${A:+${A},}B', 'B'], // TestLazyDefaultDoesNotWarn
    ['${A:-${B}}', ''], // TestLazyDefaultWarnsWhenUsed
    ['ok ${BAR:-def}', 'ok def'], // TestEmptyValueWithSoftDefault
    ['ok ${FOO:-def}', 'ok first'], // TestValueWithSoftDefault
    ['ok ${BAR-def}', 'ok '], // TestEmptyValueWithHardDefault
    ['ok ${UNSET_VAR:+presence_value}', 'ok '], // TestPresentValueWithUnset
    ['ok ${UNSET_VAR+presence_value}', 'ok '],
    ['ok ${FOO:+presence_value}', 'ok presence_value'], // TestPresentValueWithNonEmpty
    ['ok ${FOO+presence_value}', 'ok presence_value'],
    ['ok ${BAR+presence_value}', 'ok presence_value'], // TestPresentValueWithSet
    ['ok ${BAR:+presence_value}', 'ok '],
    ['ok ${BAR:-/non:-alphanumeric}', 'ok /non:-alphanumeric'], // TestNonAlphanumericDefault
    // TestInterpolationExternalInterference
    ['-ok ${BAR:-defaultValue}', '-ok defaultValue'],
    ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '],
    ['-ok ${FOO:-defaultValue}', '-ok first'],
    [':-ok ${UNSET-defaultValue}', ':-ok defaultValue'],
    [':-ok ${BAR-defaultValue}', ':-ok '],
    [':?ok ${BAR-defaultValue}', ':?ok '],
    [':?ok ${BAR:-defaultValue}', ':?ok defaultValue'],
    [':+ok ${BAR:-defaultValue}', ':+ok defaultValue'],
    ['+ok ${BAR-defaultValue}', '+ok '],
    ['?ok ${BAR:-defaultValue}', '?ok defaultValue'],
    // TestDefaultsWithNestedExpansion
    ['ok ${UNSET_VAR-$FOO}', 'ok first'],
    ['ok ${UNSET_VAR-${FOO}}', 'ok first'],
    ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR:-$FOO}', 'ok first'],
    ['ok ${BAR:-${FOO}}', 'ok first'],
    ['ok ${BAR:-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR+$FOO}', 'ok first'],
    ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
    // TestDefaultsForMandatoryVariables
    ['ok ${FOO:?err}', 'ok first'],
    ['ok ${FOO?err}', 'ok first'],
    ['ok ${BAR?err}', 'ok '],
    // TestPrecedence
    ['${UNSET_VAR-myerror?msg}', 'myerror?msg'],
    ['${FOO?bar-baz}', 'first'],
    ['${BAR:-default_value_for_empty_var}', 'default_value_for_empty_var'],
    ['${UNSET_VAR-default_value_for_unset_var}', 'default_value_for_unset_var'],
    // TestSubstituteWithReplacementFunc (default replacement part)
    ['ok ${SUBDOMAIN:-redis}.${FOO:?}', 'ok redis.first'],
    // TestNoValueWithCurlyBracesDefault / TestValueWithCurlyBracesDefault
    ['ok ${missing:-{"json":1}}', 'ok {"json":1}'],
    ['ok ${missing-{"json":1}}', 'ok {"json":1}'],
    ['ok ${JSON:-{"json":1}}', 'ok {"json":2}'],
    ['ok ${JSON-{"json":1}}', 'ok {"json":2}'],
  ]
  for (const [template, expected] of ok) test(JSON.stringify(template), () => assert.equal(interpolate(template, defaults), expected))

  // TestLazyRequiredMessageDoesNotWarn: the message is not evaluated when the variable is set
  test('${A?${B}} with A set', () => {
    const asked: string[] = []
    const lookup: Lookup = (name) => (asked.push(name), name === 'A' ? 'value' : undefined)
    assert.equal(interpolate('${A?${B}}', lookup), 'value')
    assert.deepEqual(asked, ['A'])
  })

  for (const template of ['${', '${}', '${ }', '${ foo}', '${foo }', '${foo!}']) {
    test(`TestInvalid ${JSON.stringify(template)}`, () =>
      assert.throws(
        () => interpolate(template, defaults),
        (err: unknown) => err instanceof InterpolationError && err.code === 'invalid-template' && err.message === `Invalid template: ${JSON.stringify(template)}`,
      ),
    )
  }

  const required: Array<[template: string, message: string]> = [
    ['not ok ${UNSET_VAR:?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${BAR:?Mandatory Variable Empty}', 'required variable BAR is missing a value: Mandatory Variable Empty'],
    ['not ok ${UNSET_VAR:?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${UNSET_VAR?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['not ok ${UNSET_VAR?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['${UNSET_VAR?bar-baz}', 'required variable UNSET_VAR is missing a value: bar-baz'], // TestPrecedence
  ]
  for (const [template, message] of required) {
    test(`TestMandatoryVariableErrors ${JSON.stringify(template)}`, () =>
      assert.throws(
        () => interpolate(template, defaults),
        (err: unknown) => err instanceof InterpolationError && err.message === message && err.variable === message.split(' ')[2],
      ),
    )
  }

  // TestSubstitutionFunctionChoice: the operator right after the name is the one applied, whatever follows
  const choice: Array<[body: string, unset: string, set: string]> = [
    ['VARNAME:?val?ue', 'error', 'x'],
    ['VARNAME?val:?ue', 'error', 'x'],
    ['VARNAME?va-lu+e:?e', 'error', 'x'],
    ['VARNAME?va+lu-e:?e', 'error', 'x'],
    ['VARNAME:-value', 'value', 'x'],
    ['VARNAME-va:-lu:?e', 'va:-lu:?e', 'x'],
    ['VARNAME-va+lu?e', 'va+lu?e', 'x'],
    ['VARNAME-va?lu+e', 'va?lu+e', 'x'],
    ['VARNAME:+va:?lu:-e', '', 'va:?lu:-e'],
    ['VARNAME+va:+lue', '', 'va:+lue'],
    ['VARNAME+va?lu-e', '', 'va?lu-e'],
    ['VARNAME+va-lu?e', '', 'va-lu?e'],
  ]
  for (const [body, unset, set] of choice) {
    test(`TestSubstitutionFunctionChoice ${body}`, () => {
      const template = '${' + body + '}'
      if (unset === 'error') assert.throws(() => interpolate(template, fromMap({})), /required variable VARNAME is missing a value/)
      else assert.equal(interpolate(template, fromMap({})), unset)
      assert.equal(interpolate(template, fromMap({ VARNAME: 'x' })), set)
    })
  }
})

describe('interpolate: Compose quirks beyond the upstream tests (checked against compose-go)', () => {
  const lookup = fromMap({ A: 'a', E: '' })
  const ok: Array<[template: string, expected: string]> = [
    ['$$$A', '$a'],
    ['$2y$10$abcdefghij', '$2y$10'],
    ['$(echo hi)', '$(echo hi)'],
    ['${A:-x} ${B:-y}', 'a y'], // the greedy match is cut at the first balanced brace and the rest interpolated
    ['${B:-{}}', '{}'],
    ['${B:-}}', '}'],
    ['${B-a}b}', 'ab}'],
    ['pre\n${B:-x}\npost', 'pre\nx\npost'],
    ['$A_$A', 'a'], // `$A_` is one (unset) name
    ['${E:+set}${E+set}', 'set'],
  ]
  for (const [template, expected] of ok) test(JSON.stringify(template), () => assert.equal(interpolate(template, lookup), expected))
  test('Go case folding: U+212A KELVIN SIGN is a name character', () => {
    assert.equal(interpolate('[$\u212a]', fromMap({ '\u212a': 'kelvin' })), '[kelvin]')
  })
  const invalid: Array<[template: string, message: string]> = [
    ['${a.b}', 'Invalid template: "${a.b}"'],
    ['${B:-x\n}', 'Invalid template: "${B:-x\\n}"'], // `.*` does not cross a newline
    ['${A:x}', 'Invalid template: "${A:x}"'],
    ['${B:-${a.b}}', 'Invalid template: "${a.b}"'], // reported for the nested template that failed
    ['${A:-x} ${B:y}', 'Invalid template: " ${B:y}"'],
  ]
  for (const [template, message] of invalid) test(JSON.stringify(template), () => assert.throws(() => interpolate(template, lookup), { message }))
  test('an invalid nested default is not evaluated when the variable is set', () => assert.equal(interpolate('${A:-${a.b}}', lookup), 'a'))
})

describe('templateVariables: compose-go variables_test (TestExtractVariables)', () => {
  // nonEmpty: `${V:?}` (an empty value fails too); compose-go's test has no such column
  const v = (name: string, hasDefault = false, required = false, nonEmpty = false) => ({ name, hasDefault, required, ...(nonEmpty ? { nonEmpty } : {}) })
  const cases: Array<[name: string, template: string, expected: ReturnType<typeof v>[]]> = [
    ['empty', '', []],
    ['no-variables', 'bar', []],
    ['variable-without-curly-braces', '$bar', [v('bar')]],
    ['variable-without-curly-braces-and-with-number-suffix', '$bar_1', [v('bar_1')]],
    ['variable', '${bar}', [v('bar')]],
    ['required-variable', '${bar?:foo}', [v('bar', false, true)]],
    ['required-variable-with-number-suffix', '${bar_1?:foo}', [v('bar_1', false, true)]],
    ['required-variable2', '${bar?foo}', [v('bar', false, true)]],
    ['default-variable', '${bar:-foo}', [v('bar', true)]],
    ['default-variable2', '${bar-foo}', [v('bar', true)]],
    ['default-variable-with-number-suffix', '${bar_1:-foo}', [v('bar_1', true)]],
    ['default-variable2-with-number-suffix', '${bar_1-foo}', [v('bar_1', true)]],
    ['multiple-values (one string each)', '${bar:-foo} ${fruit:-banana} vegetable foo $docker:${project:-cli} $toto', [v('bar', true), v('fruit', true), v('docker'), v('project', true), v('toto')]],
    ['presence-value-nonEmpty', '${bar:+foo}', [v('bar')]],
    ['presence-value', '${bar+foo}', [v('bar')]],
    ['concat', '${SUBDOMAIN:-redis}.${ROOTDOMAIN:?}', [v('SUBDOMAIN', true), v('ROOTDOMAIN', false, true, true)]],
    ['nested', '${SUBDOMAIN:-$ROOTDOMAIN}', [v('SUBDOMAIN', true), v('ROOTDOMAIN')]],
    ['nested-array-of-maps', '${SOURCE_LOCATION}', [v('SOURCE_LOCATION')]],
  ]
  for (const [name, template, expected] of cases) test(name, () => assert.deepEqual(templateVariables(template), expected))

  test('$$ is not a reference; nested defaults and + replacements are scanned; duplicates collapse', () => {
    assert.deepEqual(templateVariables('$$HOME ${A:-${B:-$C}} ${D:+$E} $A ${A:-x}'), [v('A', true), v('B', true), v('C'), v('D'), v('E'), v('A')])
  })
  test('an invalid template throws', () => assert.throws(() => templateVariables('x ${a.b}'), InterpolationError))
})

describe('Compose behaviour on the grammar corners', () => {
  const rows: Array<[row: number, input: string, expected: Record<string, string>, shell?: Record<string, string>]> = [
    [1, 'A=abc#def', { A: 'abc#def' }],
    [2, 'A=abc #def', { A: 'abc' }],
    [3, 'B=x\nA=$B-y', { B: 'x', A: 'x-y' }],
    [4, 'B=x\nA="${B}y"', { B: 'x', A: 'xy' }],
    [4, "B=x\nA='${B}y'", { B: 'x', A: '${B}y' }],
    [5, 'A=pa$$word', { A: 'pa$word' }],
    [6, String.raw`A="pa\$word"`, { A: 'pa$word' }],
    [7, String.raw`A="a\tb"`, { A: 'a\tb' }],
    [8, String.raw`A="say \"hi\""`, { A: 'say "hi"' }],
    [9, String.raw`A="C:\\dir"`, { A: 'C:\\dir' }],
    [10, String.raw`A='Let\'s go'`, { A: "Let's go" }],
    [11, 'A=`tick`', { A: '`tick`' }],
    [12, 'A=${UNSET:-def}', { A: 'def' }],
    [13, 'EMPTY=\nA=${EMPTY-def}', { EMPTY: '', A: '' }],
    [15, 'A="$(echo hi)"', { A: '$(echo hi)' }],
    [16, 'A=$2y$10$abcdefghij', { A: '$2y$10' }],
    [19, 'HOME\n', { HOME: '/home/me' }, { HOME: '/home/me' }],
    [19, 'HOME\n', {}],
    [19, 'HOME', { '': 'HOME' }, { HOME: '/home/me' }], // no newline: the text reaches the end without `=`, a stray entry
    [20, 'A="x" y', { A: 'x', '': 'y' }],
    [22, 'A=file\nB=${A}', { A: 'file', B: 'shell' }, { A: 'shell' }],
  ]
  for (const [row, input, expected, shell] of rows) {
    test(`row ${row}: ${JSON.stringify(input)}`, () => assert.deepEqual(parseDotenv(input, shell ? fromMap(shell) : undefined), expected))
  }
  test('row 14: ${UNSET:?must be set} is an error', () => {
    throwsSyntax(() => parseDotenv('A=${UNSET:?must be set}'), 'required variable UNSET is missing a value: must be set')
  })
  test('row 17: unterminated quote is an error', () => throwsSyntax(() => parseDotenv('A="abc'), 'line 1: unterminated quoted value "abc'))
  test('row 18: invalid variable names are errors', () => {
    throwsSyntax(() => parseDotenv('lol$wut'), /unexpected character "\$"/)
    throwsSyntax(() => parseDotenv('MY KEY=1'), 'line 1: key cannot contain a space')
  })
  test('agreeing rows: export, yaml style, dots, CRLF, multi-line quotes', () => {
    assert.deepEqual(parseDotenv('export A=1\r\nB: 2\r\nA.B=3\r\nC="x\r\ny"\r\nD=\'p\nq\'\r\n'), { A: '1', B: '2', 'A.B': '3', C: 'x\r\ny', D: 'p\nq' })
  })
})

describe('parser details', () => {
  test('parseDotenvLines gives the line each statement starts on, duplicates included', () => {
    const text = '# c\nA=1\n\nB="multi\nline"\nexport C=3\nA=2\nD\n  E: 5 # c\n'
    assert.deepEqual(parseDotenvLines(text, fromMap({ D: 'd' })), [
      { key: 'A', value: '1', line: 2 },
      { key: 'B', value: 'multi\nline', line: 4 },
      { key: 'C', value: '3', line: 6 },
      { key: 'A', value: '2', line: 7 },
      { key: 'D', value: 'd', line: 8 },
      { key: 'E', value: '5', line: 9 },
    ])
  })
  test('errors carry the line Compose names and the line the statement starts on', () => {
    const err = (fn: () => unknown) => {
      try {
        fn()
      } catch (e) {
        return e as EnvSyntaxError
      }
      assert.fail('expected a throw')
    }
    const unterminated = err(() => parseDotenv('A=1\nB="open\nmore\nlines\n'))
    assert.equal(unterminated.message, 'line 5: unterminated quoted value "open')
    assert.deepEqual([unterminated.code, unterminated.line, unterminated.statementLine], ['unterminated-quote', 5, 2])
    const required = err(() => parseDotenv('A=1\n\nB=${X:?set X}\n'))
    assert.ok(required instanceof InterpolationError)
    assert.deepEqual([required.message, required.line, required.variable], ['required variable X is missing a value: set X', 3, 'X'])
    assert.deepEqual([err(() => parseDotenv('A=1\nb@d=2')).line, err(() => parseDotenv('export   ')).message], [2, 'zero length string'])
  })
  test('interpolation sees the lookup first, then earlier lines; bare keys only the lookup', () => {
    assert.deepEqual(parseDotenv('A=file\nB=$A\nA\n', fromMap({})), { A: 'file', B: 'file' })
    assert.deepEqual(parseDotenv('A=file\nB=$A', fromMap({ A: 'shell' })), { A: 'file', B: 'shell' })
  })
  test('octal escapes: \\0 forms that are not 3 octal digits keep the rewritten text, as compose-go', () => {
    assert.deepEqual(parseDotenv(String.raw`A="\0" B="\01x\0400\0377" C="\c\'"`), { A: '\\', B: '\\1x\\400\u00ff', C: "\\c\\'" })
  })
  test('scanDotenv offsets locate key and value; requiredVariables: ignore leaves the value unknown', () => {
    const text = '\uFEFFexport A="x" # c\nB=${NOPE:?} \nC'
    const s = scanDotenv(text, undefined, { requiredVariables: 'ignore' })
    assert.deepEqual(
      s.map((x) => [x.key, x.value, x.bare, x.line, text.slice(x.start, x.end), text.slice(x.keyStart, x.end)]),
      [
        ['A', 'x', false, 1, 'export A="x"', 'A="x"'],
        ['B', undefined, false, 2, 'B=${NOPE:?}', 'B=${NOPE:?}'],
        ['', 'C', false, 3, 'C', 'C'],
      ],
    )
  })
  test('keys such as __proto__ and toString are plain entries, never prototype lookups', () => {
    const env = parseDotenv('__proto__=x\nB=${toString}')
    assert.equal(Object.getPrototypeOf(env), Object.prototype)
    assert.deepEqual(Object.entries(env), [['__proto__', 'x'], ['B', '']])
  })
})

describe('serializeValue / serializeEntry', () => {
  const examples: Array<[value: string, line: string]> = [
    ['p@ss w#rd', 'KEY="p@ss w#rd"'],
    [`it's "ok"`, String.raw`KEY="it's \"ok\""`],
    ['$2y$10$abc', 'KEY="$$2y$$10$$abc"'],
    ['${VAR:-x}', 'KEY="$${VAR:-x}"'],
    ['C:\\dir\\', String.raw`KEY="C:\\dir\\"`],
    ['\\$HOME', String.raw`KEY="\\$$HOME"`],
    ['\\n', String.raw`KEY="\\n"`],
    ['a\nb', String.raw`KEY="a\nb"`],
    ['  x  ', 'KEY="  x  "'],
    ['', 'KEY=""'],
    ['cr\rlf', String.raw`KEY="cr\rlf"`],
  ]
  for (const [value, line] of examples) {
    test(JSON.stringify(value), () => {
      assert.equal(serializeEntry('KEY', value), line)
      assert.deepEqual(parseDotenv(line, () => 'SHELL'), { KEY: value })
    })
  }
  test('invalid keys are rejected by name', () => {
    for (const key of ['', '1A', 'A.B', 'A-B', 'A B', 'É', 'a[1]']) assert.throws(() => serializeEntry(key, 'v'), { message: new RegExp(`invalid env key ${JSON.stringify(key).replace(/[[\]]/g, '\\$&')}`) })
  })
  test('NUL is rejected', () => assert.throws(() => serializeValue('a\0b'), /NUL/))
})

describe('properties (fast-check)', () => {
  const hostile = fc.constantFrom('\\', '"', "'", '$', '{', '}', '#', ' #', '\n', '\r', '\r\n', '\t', ' ', '=', ':', '`', '-', '?', '+', '\\n', '\\0123', '$$', '${A}', '$A', 'A', 'z', '0', 'é', '😀', '𝄞', '\u2028', '\u00a0', '\u212a')
  const unit = fc.oneof({ arbitrary: hostile, weight: 4 }, { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 })
  const value = fc.string({ unit, maxLength: 40 }).filter((s) => !s.includes('\0'))
  const lookups: Array<[name: string, lookup: Lookup | undefined]> = [
    ['no lookup', undefined],
    ['a lookup that defines every name as SHELL', () => 'SHELL'],
    ['a lookup that defines every name as empty', () => ''],
  ]
  for (const [name, lookup] of lookups) {
    test(`parseDotenv(serializeEntry('K', v)) gives back v, with ${name}`, () => {
      fc.assert(
        fc.property(value, (v) => {
          const line = serializeEntry('K', v)
          assert.ok(!/[\n\r]/.test(line), 'one line per key')
          assert.deepEqual(parseDotenv(line, lookup), { K: v })
          assert.deepEqual(parseDotenv(`A=1\n${line}\nB=2\n`, lookup), { A: '1', K: v, B: '2' })
        }),
        { numRuns: 2000 },
      )
    })
  }
  test('arbitrary text either parses or throws EnvSyntaxError, never anything else', () => {
    const text = fc.string({ unit: fc.oneof(hostile, fc.constantFrom('export ', 'K', '=', ':', '\n', '.')), maxLength: 60 })
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseDotenv(t, () => undefined)
          interpolate(t, () => 'x')
        } catch (err) {
          assert.ok(err instanceof EnvSyntaxError, String(err))
        }
      }),
      { numRuns: 2000 },
    )
  })
})
