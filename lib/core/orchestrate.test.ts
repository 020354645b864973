import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reversed, runGraph, type GraphNode } from './orchestrate.ts'

// infra ← data ← apps, infra ← compute ← apps; tools independent of everything
const GRAPH: GraphNode[] = [
  { id: 'infra', after: [] },
  { id: 'data', after: ['infra'] },
  { id: 'compute', after: ['infra'] },
  { id: 'apps', after: ['data', 'compute'] },
  { id: 'tools', after: [] },
]

function recorder(fail: string[] = [], delay: Record<string, number> = {}) {
  const events: string[] = []
  let active = 0
  let peak = 0
  const work = async (id: string) => {
    active++
    peak = Math.max(peak, active)
    events.push(`start ${id}`)
    await new Promise((r) => setTimeout(r, delay[id] ?? 5))
    active--
    events.push(`end ${id}`)
    if (fail.includes(id)) throw new Error(`${id} broke`)
    return id.toUpperCase()
  }
  return { events, work, peak: () => peak }
}

test('a job starts only after everything it comes after has succeeded; independent ones overlap', async () => {
  const r = recorder()
  const out = await runGraph(GRAPH, r.work)
  assert.deepEqual(out.map((o) => o.status), ['ok', 'ok', 'ok', 'ok', 'ok'])
  const at = (e: string) => r.events.indexOf(e)
  assert.ok(at('end infra') < at('start data') && at('end infra') < at('start compute'))
  assert.ok(at('end data') < at('start apps') && at('end compute') < at('start apps'))
  assert.ok(at('start tools') < at('end infra'), 'tools does not wait for infra')
  assert.ok(at('start compute') < at('end data'), 'data and compute run concurrently')
  assert.ok(r.peak() >= 2)
  assert.deepEqual(out.map((o) => (o.status === 'ok' ? o.value : null)), ['INFRA', 'DATA', 'COMPUTE', 'APPS', 'TOOLS'])
})

test('a failure skips its dependants transitively, and only them', async () => {
  const r = recorder(['data'])
  const skipped: string[] = []
  const out = await runGraph(GRAPH, r.work, { onSkip: (id, why) => skipped.push(`${id}: ${why}`) })
  const by = Object.fromEntries(out.map((o) => [o.id, o]))
  assert.equal(by.data.status, 'failed')
  assert.equal((by.data as { error: Error }).error.message, 'data broke')
  assert.equal(by.compute.status, 'ok', 'a sibling still runs')
  assert.equal(by.tools.status, 'ok')
  assert.deepEqual(by.apps, { id: 'apps', status: 'skipped', because: 'data failed' })
  assert.ok(!r.events.includes('start apps'))
  assert.deepEqual(skipped, ['apps: data failed'])
  const chain = await runGraph([{ id: 'a', after: [] }, { id: 'b', after: ['a'] }, { id: 'c', after: ['b'] }], recorder(['a']).work)
  assert.deepEqual(chain.map((o) => (o.status === 'skipped' ? o.because : o.status)), ['failed', 'a failed', 'b was skipped'])
})

test('concurrency is bounded', async () => {
  const many = Array.from({ length: 8 }, (_, i) => ({ id: `s${i}`, after: [] }))
  const r = recorder()
  await runGraph(many, r.work, { concurrency: 3 })
  assert.equal(r.peak(), 3)
  const one = recorder()
  await runGraph(GRAPH, one.work, { concurrency: 1 })
  assert.deepEqual(one.events.filter((e) => e.startsWith('start')), ['start infra', 'start data', 'start compute', 'start apps', 'start tools'], 'ready jobs start in declaration order')
  assert.equal(one.peak(), 1)
})

test('reversed: stopping waits for dependants first', async () => {
  const r = recorder()
  await runGraph(reversed(GRAPH), r.work)
  const at = (e: string) => r.events.indexOf(e)
  assert.ok(at('end apps') < at('start data') && at('end apps') < at('start compute'))
  assert.ok(at('end data') < at('start infra') && at('end compute') < at('start infra'))
})

test('dependencies outside the graph count as satisfied; a cycle is rejected', async () => {
  const out = await runGraph([{ id: 'apps', after: ['data'] }], recorder().work)
  assert.equal(out[0].status, 'ok')
  await assert.rejects(runGraph([{ id: 'a', after: ['b'] }, { id: 'b', after: ['a'] }], recorder().work), /cycle/)
})
