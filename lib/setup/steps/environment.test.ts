import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CancelledError } from '../../core/errors.ts'
import { CANCEL } from '../../../test/helpers/fake-ask.ts'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { environment } from './environment.ts'

test('environment: public asks for the domain, shows the derived hostnames, queues STACKYARD_ENVIRONMENT and DOMAIN', async () => {
  const ctx = fakeSetup({ answers: ['public', 'Example.COM'] })
  await environment(ctx)
  assert.deepEqual(ctx.prompts.asked.map((a) => [a.kind, a.initial]), [['select', 'private'], ['text', undefined]])
  assert.deepEqual([ctx.answers.environment, ctx.answers.domain], ['public', 'example.com'])
  assert.deepEqual([...ctx.changes.values()].map((c) => [c.key, c.value]), [['STACKYARD_ENVIRONMENT', 'public'], ['DOMAIN', 'example.com']])
  assert.ok(ctx.logged.some((l) => /n8n\.example\.com/.test(l)))
})

test('environment: private asks nothing more; --yes takes private without asking; without a terminal it is missing', async () => {
  const priv = fakeSetup({ answers: ['private'] })
  await environment(priv)
  assert.equal(priv.prompts.asked.length, 1)
  assert.ok(!priv.changes.has('DOMAIN'))
  const yes = fakeSetup({ yes: true })
  await environment(yes)
  assert.deepEqual([yes.answers.environment, yes.prompts.asked], ['private', []])
  const none = fakeSetup({ interactive: false })
  await environment(none)
  assert.deepEqual(none.missingInputs.map((m) => m.flag), ['--environment private|public'])
  const noDomain = fakeSetup({ interactive: false, given: { environment: 'public' } })
  await environment(noDomain)
  assert.deepEqual(noDomain.missingInputs.map((m) => m.flag), ['--domain DOMAIN'])
})

test('environment: a configured installation is not asked again (keep, or no terminal); changing settings preselects the current answers', async () => {
  const dotEnv = { STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'a.org' }
  const quiet = fakeSetup({ interactive: false, dotEnv })
  await environment(quiet)
  assert.deepEqual([quiet.prompts.asked, quiet.changes.size], [[], 0])
  const change = fakeSetup({ dotEnv, answers: ['public', 'b.org'] })
  await environment(change)
  assert.deepEqual(change.prompts.asked.map((a) => a.initial), ['public', 'a.org'])
  assert.deepEqual([...change.changes.keys()], ['DOMAIN'])
})

test('environment: a cancelled prompt is CancelledError and queues nothing', async () => {
  const ctx = fakeSetup({ answers: [CANCEL] })
  await assert.rejects(environment(ctx), CancelledError)
  assert.equal(ctx.changes.size, 0)
})
