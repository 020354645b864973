import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { schemaValidator, validateComposeFile, validateComposeText } from './compose-spec.ts'
import { repoRoot } from '../core/paths.ts'

test('every shipped compose file is valid against the compose-spec schema', () => {
  const dir = join(repoRoot, 'compose')
  let n = 0
  for (const folder of readdirSync(dir))
    for (const f of readdirSync(join(dir, folder)).filter((x) => x.endsWith('.yml'))) {
      n++
      assert.deepEqual(validateComposeFile(join(dir, folder, f), `${folder}/${f}`), [], `${folder}/${f}`)
    }
  assert.ok(n >= 2, `only ${n} compose files found`)
})

test('schema errors name the file, line and field', () => {
  const text = 'name: x\nservices:\n  web:\n    image: nginx:1.27\n    cap_drop: ALL\n    restrat: always\n'
  const problems = validateComposeText(text, 'compose/00-x/docker-compose.yml')
  assert.ok(problems.some((p) => p.path === 'services.web.cap_drop' && /must be array/.test(p.message) && p.line === 5), JSON.stringify(problems))
  assert.ok(problems.some((p) => /additional properties "restrat"/.test(p.message) && p.line === 6), JSON.stringify(problems))
  assert.deepEqual(validateComposeText('name: x\nservices:\n  web:\n    image: a\n    x-route: {anything: 1}\nx-stackyard: {}\n', 'f'), [], 'x- extensions are allowed')
})

test('the validator kept as code answers exactly as the one just compiled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-schema-'))
  try {
    const compiled = schemaValidator(dir)
    const kept = readdirSync(dir)
    assert.equal(kept.length, 1, `one file of code kept: ${kept.join(', ')}`)
    assert.match(kept[0], /^compose-schema\.[0-9a-f]{16}\.cjs$/)
    const loaded = schemaValidator(dir)
    assert.notEqual(loaded, compiled, 'the second one is loaded from the kept code')
    const docs = [
      { services: { web: { image: 'nginx', cap_drop: 'ALL', restrat: 'always' } } },
      { services: { web: { image: 'nginx', ports: [{ target: 'eighty' }], healthcheck: { interval: 5 } } } },
      { services: { web: { image: 'nginx' } }, volumes: { data: { driver: 1 } } },
    ]
    for (const doc of docs) {
      assert.equal(loaded(doc), compiled(doc))
      assert.deepEqual(loaded.errors, compiled.errors)
    }
    assert.equal(compiled(docs[0]), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
