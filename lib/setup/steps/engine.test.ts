import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import { engine } from './engine.ts'

const MANAGER = { composeVersion: '2.39.1', serverVersion: '28.2.2', runtimes: ['runc'], swarmManager: true as const }

test('engine: not asked where swarm cannot deploy (no swarm manager): compose, nothing queued', async () => {
  const ctx = fakeSetup({ answers: [] })
  ctx.facts.docker = { ...MANAGER, swarmManager: undefined }
  await engine(ctx)
  assert.deepEqual([ctx.answers.engine, ctx.prompts.asked.length, ctx.changes.size], ['compose', 0, 0])
  const none = fakeSetup({ interactive: false })
  await engine(none)
  assert.deepEqual(none.missingInputs, [], 'not a missing answer either')
})

test('engine: on a swarm manager it is asked (compose preselected); swarm queues STACKYARD_ENGINE; compose queues nothing', async () => {
  const swarm = fakeSetup({ answers: ['swarm'] })
  swarm.facts.docker = MANAGER
  await engine(swarm)
  assert.deepEqual(swarm.prompts.asked.map((a) => [a.kind, a.initial]), [['select', 'compose']])
  assert.deepEqual([...swarm.changes.values()].map((c) => [c.key, c.value]), [['STACKYARD_ENGINE', 'swarm']])
  const compose = fakeSetup({ answers: ['compose'] })
  compose.facts.docker = MANAGER
  await engine(compose)
  assert.deepEqual([compose.answers.engine, compose.changes.size], ['compose', 0])
  const none = fakeSetup({ interactive: false })
  none.facts.docker = MANAGER
  await engine(none)
  assert.deepEqual(none.missingInputs.map((m) => m.flag), ['--engine compose|swarm'])
})

test('engine: --engine answers it anywhere; an installation on swarm keeps it, or goes back to compose by writing it', async () => {
  const given = fakeSetup({ interactive: false, given: { engine: 'swarm' } })
  await engine(given)
  assert.deepEqual([...given.changes.values()].map((c) => [c.key, c.value]), [['STACKYARD_ENGINE', 'swarm']])
  const dotEnv = { STACKYARD_ENVIRONMENT: 'private', STACKYARD_ENGINE: 'swarm' }
  const kept = fakeSetup({ interactive: false, dotEnv })
  await engine(kept)
  assert.deepEqual([kept.answers.engine, kept.changes.size, kept.prompts.asked.length], ['swarm', 0, 0])
  const back = fakeSetup({ dotEnv, answers: ['compose'] })
  await engine(back)
  assert.deepEqual(back.prompts.asked.map((a) => a.initial), ['swarm'])
  assert.deepEqual([...back.changes.values()].map((c) => [c.key, c.value]), [['STACKYARD_ENGINE', 'compose']])
})
