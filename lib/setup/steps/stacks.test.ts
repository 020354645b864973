import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError } from '../../core/errors.ts'
import type { Registry } from '../../model/registry.ts'
import { fakeSetup, repoRegistry } from '../../../test/setup-helpers.ts'
import { optionalProfiles, stacks } from './stacks.ts'

test('stacks: the chosen stacks with the proxy stack and their dependencies; the detected GPU preselected; STACKYARD_STACKS and STACKYARD_PROFILE queued', async () => {
  const ctx = fakeSetup({ answers: [['apps'], 'gpu-nvidia'] })
  ctx.facts.gpu = 'gpu-nvidia'
  await stacks(ctx)
  const [which, profile] = ctx.prompts.asked
  assert.deepEqual(which.options, ['data', 'compute', 'apps'], 'the proxy stack is not offered: it always runs')
  assert.deepEqual(profile.initial, 'gpu-nvidia')
  assert.deepEqual(ctx.answers.stacks, repoRegistry().stacks.map((s) => s.name), 'apps needs data and compute; the proxy stack always')
  assert.equal(ctx.changes.get('STACKYARD_STACKS')!.value, '', 'every stack: stored as empty (new stacks join)')
  assert.equal(ctx.changes.get('STACKYARD_PROFILE')!.value, 'gpu-nvidia')
})

test('stacks: without the compute stack there is no hardware question; a subset is stored by name', async () => {
  const ctx = fakeSetup({ answers: [['data']] })
  await stacks(ctx)
  assert.equal(ctx.prompts.asked.length, 1)
  assert.deepEqual(ctx.answers.stacks, ['infrastructure', 'data'])
  assert.equal(ctx.changes.get('STACKYARD_STACKS')!.value, 'infrastructure,data')
  assert.ok(!ctx.changes.has('STACKYARD_PROFILE'))
})

test('stacks: without a terminal, a missing stack answer still lets the profile question be listed; unknown names are usage errors', async () => {
  const ctx = fakeSetup({ interactive: false })
  await stacks(ctx)
  assert.deepEqual(ctx.missingInputs.map((m) => m.key), ['stacks', 'profile'])
  await assert.rejects(stacks(fakeSetup({ given: { stacks: ['nope'] } })), (e: Error) => e instanceof UsageError && /unknown stack "nope"/.test(e.message))
  await assert.rejects(stacks(fakeSetup({ given: { stacks: ['all'], optional: ['gpu-nvidia'] }, yes: true })), (e: Error) => e instanceof UsageError && /--optional gpu-nvidia: not an optional service/.test(e.message))
  const yes = fakeSetup({ yes: true, interactive: false })
  await stacks(yes)
  assert.deepEqual([yes.answers.profile, yes.missingInputs], ['cpu', []])
})

test('optional services: compose profiles that are not hardware, auto or excluded are offered by name with their services', async () => {
  const base = repoRegistry()
  const extra = { name: 'extras', folder: '09-extras', profiles: ['metrics', 'cpu'], autoProfiles: { relay: 'TOKEN' }, after: [], services: [{ name: 'grafana', profiles: ['metrics'] }, { name: 'relay', profiles: ['relay'] }, { name: 'gpu-thing', profiles: ['cpu'] }] }
  const registry = { ...base, stacks: [...base.stacks, extra] } as unknown as Registry
  assert.deepEqual([...optionalProfiles(registry, ['infrastructure', 'extras'], ['infisical'])], [['metrics', ['grafana']]])
  const ctx = fakeSetup({ answers: [['extras'], ['metrics'], 'cpu'] })
  ctx.registry = { ...registry, select: (names: readonly string[]) => registry.stacks.filter((s) => names.includes(s.name) || names.includes('all')) } as Registry
  await stacks(ctx)
  assert.deepEqual(ctx.prompts.asked[1].options, ['metrics'])
  assert.deepEqual(ctx.answers.optional, ['metrics'])
})
