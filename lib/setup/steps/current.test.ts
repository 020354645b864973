import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { current } from './current.ts'

test('current: a fresh installation asks nothing; a configured one shows its settings and offers to keep them', async () => {
  const fresh = fakeSetup({})
  await current(fresh)
  assert.deepEqual([fresh.prompts.asked, fresh.keep], [[], false])
  const dotEnv = { STACKYARD_ENVIRONMENT: 'private', STACKYARD_PROFILE: 'cpu' }
  const keep = fakeSetup({ dotEnv, answers: ['keep'] })
  await current(keep)
  assert.deepEqual([keep.prompts.asked[0].options, keep.keep], [['keep', 'change'], true])
  assert.ok(keep.logged.some((l) => /environment\s+private/.test(l)))
  const change = fakeSetup({ dotEnv, answers: ['change'] })
  await current(change)
  assert.equal(change.keep, false)
  const script = fakeSetup({ dotEnv, interactive: false })
  await current(script)
  assert.deepEqual([script.prompts.asked, script.keep], [[], true])
})
