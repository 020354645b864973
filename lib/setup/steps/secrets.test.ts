import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError } from '../../core/errors.ts'
import type { Registry } from '../../model/registry.ts'
import { checkSecret } from '../../model/secrets.ts'
import { fakeSetup, repoRegistry } from '../../../test/setup-helpers.ts'
import { secrets } from './secrets.ts'

const generated = () => [...repoRegistry().secrets.values()].filter((d) => d.spec.format !== 'external')

test('secrets: every declared secret that is missing is generated in its format; asks nothing', async () => {
  const ctx = fakeSetup({ interactive: false })
  await secrets(ctx)
  assert.deepEqual(ctx.prompts.asked, [])
  for (const d of generated()) {
    const c = ctx.changes.get(d.key)
    assert.ok(c && c.secret && c.value, d.key)
    assert.equal(checkSecret(d.spec, c.value!, ctx.planned()), undefined, `${d.key} fits ${d.spec.format}`)
    assert.match(c.note!, /^generated \(/)
  }
})

test('secrets: existing values are never changed; --rotate replaces exactly the one named; a value that does not fit is kept with a warning', async () => {
  const all = fakeSetup({ interactive: false })
  await secrets(all)
  const existing = Object.fromEntries([...all.changes.values()].map((c) => [c.key, c.value!]))
  const again = fakeSetup({ interactive: false, dotEnv: existing })
  await secrets(again)
  assert.equal(again.changes.size, 0)
  // the first one a rotation may replace (an encryption key is refused: below)
  const first = generated().find((d) => !d.spec.rotate)!
  const rotate = fakeSetup({ interactive: false, dotEnv: existing, given: { rotate: [first.key] } })
  await secrets(rotate)
  assert.deepEqual([...rotate.changes.keys()], [first.key])
  assert.notEqual(rotate.changes.get(first.key)!.value, existing[first.key])
  assert.match(rotate.changes.get(first.key)!.note!, /^rotated/)
  const bad = fakeSetup({ interactive: false, dotEnv: { ...existing, [first.key]: 'short' } })
  await secrets(bad)
  assert.equal(bad.changes.size, 0)
  assert.match(bad.warnings[0], new RegExp(`${first.key} is kept although it .*--rotate ${first.key}`))
  await assert.rejects(secrets(fakeSetup({ given: { rotate: ['CLOUDFLARE_API_TOKEN'] } })), UsageError)
  await assert.rejects(secrets(fakeSetup({ dotEnv: existing, given: { rotate: ['INFISICAL_ENCRYPTION_KEY'] } })), /cannot be replaced in place: Infisical encrypts every secret/)
  const badKey = fakeSetup({ interactive: false, dotEnv: { ...existing, N8N_ENCRYPTION_KEY: 'short' } })
  await secrets(badKey)
  assert.match(badKey.warnings[0], /N8N_ENCRYPTION_KEY is kept although .*it cannot be replaced in place: export the credentials decrypted/)
})

test('secrets: a required secret you supply is asked with a masked prompt (or listed as missing without a terminal)', async () => {
  const base = repoRegistry()
  const registry = { ...base, secrets: new Map([...base.secrets, ['OPENAI_API_KEY', { key: 'OPENAI_API_KEY', stack: 'apps', file: 'x', spec: { format: 'external', optional: false, pattern: '^sk-', description: 'the OpenAI key' } }]]) } as Registry
  const ctx = fakeSetup({ answers: ['sk-abcdef123456'] })
  ctx.registry = registry
  await secrets(ctx)
  assert.deepEqual(ctx.prompts.asked.map((a) => [a.kind, a.message]), [['password', 'OPENAI_API_KEY: the OpenAI key']])
  assert.equal(ctx.changes.get('OPENAI_API_KEY')!.value, 'sk-abcdef123456')
  const none = fakeSetup({ interactive: false })
  none.registry = registry
  await secrets(none)
  assert.deepEqual(none.missingInputs.map((m) => m.key), ['OPENAI_API_KEY'])
})
