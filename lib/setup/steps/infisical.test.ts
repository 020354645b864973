import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FailureError } from '../../core/errors.ts'
import { startFakeInfisical } from '../../../test/fake-infisical.ts'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { infisical } from './infisical.ts'

test('infisical: none is the default under --yes; STACKYARD_PROFILES holds the optional services only; nothing queued', async () => {
  const ctx = fakeSetup({ yes: true, interactive: false })
  ctx.answers.optional = []
  await infisical(ctx)
  assert.deepEqual([ctx.answers.infisical, ctx.changes.get('STACKYARD_PROFILES')!.value, ctx.actions.length], ['none', '', 0])
})

test('infisical: bundled asks the admin email and a masked password (never stored), switches the profile on and queues start, bootstrap, push', async () => {
  const ctx = fakeSetup({ answers: ['bundled', 'admin@example.com', 'a-long-admin-password'] })
  ctx.answers.optional = ['metrics']
  await infisical(ctx)
  assert.deepEqual(ctx.prompts.asked.map((a) => a.kind), ['select', 'text', 'password'])
  assert.equal(ctx.changes.get('STACKYARD_PROFILES')!.value, 'metrics,infisical')
  assert.ok(![...ctx.changes.values()].some((c) => c.value === 'a-long-admin-password'), 'the admin password is not written')
  assert.deepEqual(ctx.actions.map((a) => [a.docker, a.starts]), [[true, true], [true, true], [true, true]])
  assert.match(ctx.actions[1].title, /bootstrap \(admin admin@example\.com/)
  assert.match(ctx.next[0]()!, /Infisical: http:\/\/localhost:8020, log in as admin@example\.com/)
})

test('infisical: a bundled instance already bootstrapped asks nothing; without a terminal the email and password are listed', async () => {
  const done = fakeSetup({ interactive: false, dotEnv: { STACKYARD_ENVIRONMENT: 'private', STACKYARD_PROFILES: 'infisical', INFISICAL_CLIENT_ID: 'id', INFISICAL_CLIENT_SECRET: 'secret-value', INFISICAL_PROJECT_ID: 'p' } })
  await infisical(done)
  assert.deepEqual([done.prompts.asked, done.missingInputs, done.changes.size], [[], [], 0])
  assert.match(done.actions[1].title, /check the machine identity/)
  const fresh = fakeSetup({ interactive: false, given: { infisical: 'bundled' } })
  await infisical(fresh)
  assert.deepEqual(fresh.missingInputs.map((m) => m.flag), ['--infisical-email EMAIL', 'INFISICAL_ADMIN_PASSWORD in the environment, or --secrets-stdin'])
})

test('infisical: an external instance is checked with the given identity before anything is written; wrong credentials stop the run', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const given = { infisical: 'external' as const, infisicalUrl: fake.url, infisicalClientId: fake.clientId, infisicalProjectId: fake.projectId }
  const ok = fakeSetup({ interactive: false, given, givenSecrets: { INFISICAL_CLIENT_SECRET: fake.clientSecret } })
  await infisical(ok)
  assert.deepEqual([...ok.changes.keys()], ['STACKYARD_PROFILES', 'INFISICAL_API_URL', 'INFISICAL_CLIENT_ID', 'INFISICAL_PROJECT_ID', 'INFISICAL_CLIENT_SECRET'])
  assert.deepEqual(ok.actions.map((a) => [a.resume[0], a.docker]), [['npx zx tasks/00-infrastructure/infisical/push.ts', false]])
  assert.equal(fake.writes().length, 0, 'checking only reads')
  const wrong = fakeSetup({ interactive: false, given, givenSecrets: { INFISICAL_CLIENT_SECRET: 'not-the-secret' } })
  await assert.rejects(infisical(wrong), (e: Error) => e instanceof FailureError && /external Infisical cannot be used/.test(e.message) && /nothing was written/.test((e as FailureError).hint!))
})

test('infisical: leaving an external instance removes its connection from .env (the backup keeps it)', async () => {
  const ctx = fakeSetup({ given: { infisical: 'none' }, dotEnv: { STACKYARD_ENVIRONMENT: 'private', INFISICAL_API_URL: 'https://i.example.com', INFISICAL_CLIENT_ID: 'id', INFISICAL_CLIENT_SECRET: 'secret-value', INFISICAL_PROJECT_ID: 'p' } })
  await infisical(ctx)
  assert.deepEqual([...ctx.changes.values()].filter((c) => c.value === null).map((c) => c.key), ['INFISICAL_API_URL', 'INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'])
})
