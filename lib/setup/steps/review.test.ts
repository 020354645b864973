import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CancelledError } from '../../core/errors.ts'
import { stripAnsi } from '../../core/log.ts'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { review } from './review.ts'

function configured(o: Parameters<typeof fakeSetup>[0] = {}) {
  const ctx = fakeSetup({ dotEnv: { STACKYARD_ENVIRONMENT: 'private', DOMAIN: 'old.org', INFISICAL_CLIENT_ID: 'gone' }, ...o })
  Object.assign(ctx.answers, { environment: 'public', domain: 'new.org', stacks: ['infrastructure'], infisical: 'none' })
  ctx.setEnv('STACKYARD_ENVIRONMENT', 'public', { pin: true })
  ctx.setEnv('DOMAIN', 'new.org')
  ctx.setEnv('CLOUDFLARE_API_TOKEN', 'super-secret-token-value')
  ctx.setEnv('INFISICAL_CLIENT_ID', null, { note: 'was for the external Infisical' })
  return ctx
}

test('review: every change to .env (added, changed, removed) with secrets masked, the actions in order, what will not run now and why', async () => {
  const ctx = configured({ yes: true })
  ctx.facts.dockerProblem = { message: 'docker is not installed' }
  ctx.actions.push({ title: 'Cloudflare: the tunnel', resume: [], run: async () => {} })
  ctx.previews.push(async () => 'Cloudflare plan: + n8n.new.org')
  ctx.warnings.push('something to know')
  await review(ctx)
  const text = stripAnsi(ctx.printed.join('\n'))
  assert.match(text, /~\s+STACKYARD_ENVIRONMENT\s+private → public/)
  assert.match(text, /~\s+DOMAIN\s+old\.org → new\.org/)
  assert.match(text, /\+\s+CLOUDFLARE_API_TOKEN\s+•••• \(24 chars\)/)
  assert.match(text, /-\s+INFISICAL_CLIENT_ID\s+was for the external Infisical/)
  assert.ok(!text.includes('super-secret-token-value'), 'no secret value in the review')
  assert.match(text, /1\. Cloudflare: the tunnel\n\s+2\. start the stacks: infrastructure .*not now \(Docker is not usable\)/)
  assert.match(text, /Cloudflare plan: \+ n8n\.new\.org/)
  assert.match(text, /▲ something to know/)
  assert.deepEqual(ctx.prompts.asked, [], '--yes: no confirmation')
})

test('review: in a terminal it asks once; no is CancelledError (nothing written); --dry-run and scripts do not ask', async () => {
  const yes = configured({ answers: [true] })
  await review(yes)
  assert.deepEqual(yes.prompts.asked.map((a) => [a.kind, a.initial]), [['confirm', true]])
  await assert.rejects(review(configured({ answers: [false] })), (e: Error) => e instanceof CancelledError && /nothing was written/.test(e.message))
  const dry = configured({ dryRun: true })
  await review(dry)
  const script = configured({ interactive: false })
  await review(script)
  assert.deepEqual([dry.prompts.asked, script.prompts.asked], [[], []])
})
