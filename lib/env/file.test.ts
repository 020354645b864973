// Tests for lib/env/file.ts: byte-for-byte preservation, in-place rewrites, duplicates, refusals, modes, round trips.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { EnvSyntaxError, parseDotenv, serializeEntry } from './dotenv.ts'
import { EnvFileError } from './layers.ts'
import { editEnvFile, planEnvFileEdit, writeEnvFile } from './file.ts'

const tempDir = () => mkdtempSync(join(tmpdir(), 'stackyard-env-file-'))
const modeOf = (path: string) => statSync(path).mode & 0o777

describe('planEnvFileEdit', () => {
  const original = [
    '# Stackyard settings',
    '',
    'DOMAIN=example.org   # the public domain',
    "  export TZ='Europe/Paris'",
    'weird.key-name[0]=kept as is',
    'MULTI="first',
    'second"',
    'TAIL=${DOMAIN}',
    '',
  ].join('\n')

  test('changes in place and appends, leaving every other byte alone', () => {
    const plan = planEnvFileEdit(original, { DOMAIN: 'example.com', MULTI: 'one line', NEW_KEY: 'it\'s "new" $5' })
    assert.equal(
      plan.text,
      [
        '# Stackyard settings',
        '',
        'DOMAIN="example.com"   # the public domain',
        "  export TZ='Europe/Paris'",
        'weird.key-name[0]=kept as is',
        'MULTI="one line"',
        'TAIL=${DOMAIN}',
        'NEW_KEY="it\'s \\"new\\" $$5"',
        '',
      ].join('\n'),
    )
    assert.deepEqual([plan.changed, plan.added, plan.removed], [['DOMAIN', 'MULTI'], ['NEW_KEY'], []])
    assert.deepEqual(parseDotenv(plan.text), {
      DOMAIN: 'example.com', TZ: 'Europe/Paris', 'weird.key-name[0]': 'kept as is', MULTI: 'one line', TAIL: 'example.com', NEW_KEY: 'it\'s "new" $5',
    })
  })

  test('a key that already holds the value is left untouched (formatting included)', () => {
    const plan = planEnvFileEdit(original, { DOMAIN: 'example.org', TZ: 'Europe/Paris', MULTI: 'first\nsecond' })
    assert.deepEqual(plan, { text: original, changed: [], added: [], removed: [] })
  })

  test('export prefix and indentation survive a rewrite', () => {
    assert.equal(planEnvFileEdit(original, { TZ: 'UTC' }).text, original.replace("  export TZ='Europe/Paris'", '  export TZ="UTC"'))
  })

  test('removing deletes the whole line (with its comment) and every duplicate', () => {
    const text = 'A=1\nB=2 # note\nA=3\r\n  A="4\n5"\nC=6'
    const plan = planEnvFileEdit(text, { A: null, B: null, MISSING: null })
    assert.deepEqual([plan.text, plan.removed], ['C=6', ['A', 'B']])
  })

  test('a statement sharing its line with another is removed alone', () => {
    assert.equal(planEnvFileEdit('A="x" B=2\nC=3\n', { B: null }).text, 'A="x" \nC=3\n')
    assert.equal(planEnvFileEdit('A="x" B=2\nC=3\n', { A: null }).text, ' B=2\nC=3\n')
  })

  test('duplicates: the last (effective) occurrence is rewritten, earlier ones stay', () => {
    const text = 'A=1\nB=${A}\nA=2\n'
    const plan = planEnvFileEdit(text, { A: 'new' })
    assert.equal(plan.text, 'A=1\nB=${A}\nA="new"\n')
    assert.deepEqual(parseDotenv(plan.text), { A: 'new', B: '1' })
  })

  test('a value that only matched through interpolation is rewritten when its source changes', () => {
    const plan = planEnvFileEdit('A=x\nB=${A}\n', { A: 'y', B: 'x' })
    assert.equal(plan.text, 'A="y"\nB="x"\n')
    assert.deepEqual(plan.changed, ['A', 'B'])
  })

  test('appending: after a newline, with the file\'s line ending; an empty file gets just the entries', () => {
    assert.equal(planEnvFileEdit('A=1', { B: '2' }).text, 'A=1\nB="2"\n')
    assert.equal(planEnvFileEdit('A=1\r\nC=3', { B: '2' }).text, 'A=1\r\nC=3\r\nB="2"\r\n')
    assert.equal(planEnvFileEdit('# only a comment', { B: '2' }).text, '# only a comment\nB="2"\n')
    assert.equal(planEnvFileEdit('', { B: '2', A: '' }).text, 'B="2"\nA=""\n')
  })

  test('a bare key (inherit from the shell) becomes a real value when set', () => {
    assert.deepEqual(planEnvFileEdit('HOME\nX=1\n', { HOME: '/root' }), { text: 'HOME="/root"\nX=1\n', changed: ['HOME'], added: [], removed: [] })
  })

  test('a missing ${X:?} variable does not block an edit', () => {
    assert.equal(planEnvFileEdit('A=${X:?set X}\nB=1\n', { B: '2' }).text, 'A=${X:?set X}\nB="2"\n')
  })

  test('invalid files and invalid changes are refused', () => {
    assert.throws(() => planEnvFileEdit('A=1\nB="open\n', { A: '2' }), EnvSyntaxError)
    assert.throws(() => planEnvFileEdit('A=1\n', { 'BAD KEY': 'x' }), /invalid env key "BAD KEY"/)
    assert.throws(() => planEnvFileEdit('A=1\n', { A: 'nul\0' }), /NUL/)
  })

  test('property: the edited file parses to the old values merged with the changes; comments stay', () => {
    const key = fc.constantFrom('A', 'B', 'C', 'DOMAIN', 'TOKEN', '_X')
    const value = fc.string({ unit: fc.constantFrom('a', ' ', '#', '$', '{', '}', '"', "'", '\\', '\n', '\r', '=', 'é', '😀'), maxLength: 12 })
    const line = fc.oneof(
      fc.tuple(key, value).map(([k, v]) => serializeEntry(k, v)),
      fc.tuple(key, fc.stringMatching(/^[a-z0-9_./:@-]{0,8}$/)).map(([k, v]) => `${k}=${v}`),
      fc.constantFrom('# comment', '', '   ', '# A=commented out'),
    )
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.dictionary(key, fc.option(value, { nil: null })), (lines, changes) => {
        const text = lines.join('\n')
        const expected: Record<string, string> = { ...parseDotenv(text) }
        for (const [k, v] of Object.entries(changes)) {
          if (v === null) delete expected[k]
          else expected[k] = v
        }
        const plan = planEnvFileEdit(text, changes)
        assert.deepEqual(parseDotenv(plan.text), expected)
        for (const comment of lines.filter((l) => l.startsWith('#'))) assert.ok(plan.text.includes(comment))
        assert.equal(planEnvFileEdit(plan.text, changes).text, plan.text, 'idempotent')
      }),
      { numRuns: 500 },
    )
  })
})

describe('editEnvFile', () => {
  test('creates a missing file with the header, mode 0600, no backup', async () => {
    const dir = tempDir()
    const path = join(dir, '.env')
    const r = await editEnvFile(path, { A: '1' }, { header: 'local settings; edit freely' })
    assert.deepEqual(r, { changed: [], added: ['A'], removed: [], wrote: true })
    assert.equal(readFileSync(path, 'utf8'), '# local settings; edit freely\nA="1"\n')
    assert.equal(modeOf(path), 0o600)
    assert.deepEqual(readdirSync(dir), ['.env'])
  })

  test('edits keep the mode, back up the previous content, and a no-op writes nothing', async () => {
    const dir = tempDir()
    const path = join(dir, '.env')
    writeFileSync(path, '# mine\nA=1\n')
    chmodSync(path, 0o640)
    assert.deepEqual(await editEnvFile(path, { A: '2' }), { changed: ['A'], added: [], removed: [], wrote: true })
    assert.deepEqual([readFileSync(path, 'utf8'), readFileSync(`${path}.bak`, 'utf8'), modeOf(path)], ['# mine\nA="2"\n', '# mine\nA=1\n', 0o640])
    const mtime = statSync(path).mtimeMs
    assert.deepEqual(await editEnvFile(path, { A: '2' }), { changed: [], added: [], removed: [], wrote: false })
    assert.equal(statSync(path).mtimeMs, mtime)
    await editEnvFile(path, { B: 'x' }, { mode: 0o600, backup: false })
    assert.deepEqual([modeOf(path), readFileSync(`${path}.bak`, 'utf8')], [0o600, '# mine\nA=1\n'])
  })

  test('a file that does not parse is refused with file:line, and nothing is written', async () => {
    const dir = tempDir()
    const path = join(dir, '.env')
    const text = 'A=1\nB=2\nC="unterminated\nD=4\n'
    writeFileSync(path, text)
    await assert.rejects(editEnvFile(path, { A: '9' }), (err: unknown) => {
      assert.ok(err instanceof EnvFileError)
      assert.equal(err.message, `${path}:3:3: unterminated quoted value: the quote opened here is never closed (expected a closing quote)`)
      assert.deepEqual([err.file, err.line], [path, 3])
      assert.match(err.hint, /double quotes/)
      return true
    })
    assert.equal(readFileSync(path, 'utf8'), text)
    assert.deepEqual(readdirSync(dir), ['.env'])
  })
})

describe('writeEnvFile', () => {
  test('header, one KEY="…" per line in the given order, mode 0600, reads back exactly', async () => {
    const dir = tempDir()
    const path = join(dir, '.env.infisical')
    const entries = { ZED: 'last\\one', API_TOKEN: 'p@$$"w#rd\n', EMPTY: '' }
    assert.deepEqual(await writeEnvFile(path, entries, { header: 'generated by tasks/infisical/pull.ts; do not edit' }), { wrote: true })
    assert.equal(readFileSync(path, 'utf8'), '# generated by tasks/infisical/pull.ts; do not edit\nZED="last\\\\one"\nAPI_TOKEN="p@$$$$\\"w#rd\\n"\nEMPTY=""\n')
    assert.equal(modeOf(path), 0o600)
    assert.deepEqual(parseDotenv(readFileSync(path, 'utf8'), () => 'SHELL'), entries)
    assert.deepEqual(await writeEnvFile(path, entries, { header: 'generated by tasks/infisical/pull.ts; do not edit' }), { wrote: false })
  })

  test('an invalid key is refused before anything is written', async () => {
    const path = join(tempDir(), 'out.env')
    await assert.rejects(writeEnvFile(path, { GOOD: '1', 'NOT-VALID': '2' }, { header: 'x' }), /invalid env key "NOT-VALID"/)
    assert.equal(existsSync(path), false)
  })
})
