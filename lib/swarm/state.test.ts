import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Runner } from '../core/exec.ts'
import { requireManager, serviceReady, stackServices, waitConverged } from './state.ts'
import { UsageError, FailureError } from '../core/errors.ts'

/** a docker CLI answering service ls / inspect / ps like Docker 20.10 does, from a list of steps (one per poll) */
function fakeDocker(steps: Array<{ services: Array<{ name: string; replicas?: number; update?: string; tasks: string[] }> }>, info = 'active true') {
  let i = 0
  const calls: string[][] = []
  const runner: Runner = async (_cmd, args) => {
    calls.push([...args])
    const step = steps[Math.min(i, steps.length - 1)]
    const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' }) as Awaited<ReturnType<Runner>>
    if (args[0] === 'info') return ok(info)
    if (args[0] === 'service' && args[1] === 'ls') return ok(step.services.map((s) => `id-${s.name}`).join('\n'))
    if (args[0] === 'service' && args[1] === 'inspect')
      return ok(JSON.stringify(step.services.map((s) => ({ ID: `id-${s.name}`, Spec: { Name: `proj_${s.name}`, Labels: { 'io.stackyard.spec': 'h' }, Mode: { Replicated: { Replicas: s.replicas ?? 1 } } }, ...(s.update ? { UpdateStatus: { State: s.update, Message: 'update rolled back due to failure' } } : {}) }))))
    if (args[0] === 'service' && args[1] === 'ps') {
      i++
      return ok(step.services.flatMap((s) => s.tasks.map((t, n) => `t${n}\tproj_${s.name}.${n + 1}\t${t}\t${t.startsWith('Starting') ? 'task: non-zero exit (1)' : ''}`)).join('\n'))
    }
    throw new Error(`unexpected docker ${args.join(' ')}`)
  }
  return { runner, calls }
}

test('requireManager: an inactive engine or a worker is a usage error saying how to make a swarm', async () => {
  await requireManager(fakeDocker([], 'active true').runner)
  await assert.rejects(requireManager(fakeDocker([], 'inactive false').runner), (e: Error) => e instanceof UsageError && /docker swarm init/.test(e.hint ?? ''))
  await assert.rejects(requireManager(fakeDocker([], 'active false').runner), /swarm worker/)
})

test('stackServices reads services by the stack label, their spec label, replicas and desired-running tasks', async () => {
  const { runner, calls } = fakeDocker([{ services: [{ name: 'postgres', tasks: ['Running 3 seconds ago'] }] }])
  const [s] = await stackServices(runner, 'proj')
  assert.deepEqual([s.service, s.spec, s.replicas, s.tasks], ['postgres', 'h', 1, [{ state: 'running', error: '' }]])
  assert.deepEqual(calls[0], ['service', 'ls', '--quiet', '--filter', 'label=com.docker.stack.namespace=proj'])
  assert.equal(serviceReady(s), true)
  assert.equal(serviceReady({ ...s, tasks: [{ state: 'starting', error: '' }] }), false, 'a task waiting for its health check')
  assert.equal(serviceReady({ ...s, update: 'updating' }), false)
  assert.equal(serviceReady({ ...s, update: 'rollback_completed' }, 'h'), true, 'rolled back once, now running the wanted spec')
  assert.equal(serviceReady({ ...s, update: 'rollback_completed' }, 'new'), false, 'rolled back away from the wanted spec')
})

test('waitConverged polls until every wanted service runs; a rolled-back update fails naming it once its previous spec runs again; a timeout names the laggard', async () => {
  const sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  const good = fakeDocker([
    { services: [{ name: 'caddy', tasks: ['Starting 1 second ago'] }] },
    { services: [{ name: 'caddy', tasks: ['Running 1 second ago'] }] },
  ])
  await waitConverged(good.runner, 'proj', { caddy: 'h' }, { timeoutS: 60, sleep })
  assert.equal(sleeps.length, 1, 'one more poll after the first')
  const rolled = fakeDocker([{ services: [{ name: 'caddy', update: 'rollback_completed', tasks: ['Running 1 second ago'] }] }])
  await assert.rejects(waitConverged(rolled.runner, 'proj', { caddy: 'new' }, { timeoutS: 60, sleep }), (e: Error) => e instanceof FailureError && /an update rolled back: caddy: .*rollback_completed/.test(e.message))
  // rolled back, its previous spec still starting: reported once that runs again, not before
  sleeps.length = 0
  const rolling = fakeDocker([
    { services: [{ name: 'caddy', update: 'rollback_completed', tasks: ['Starting 1 second ago'] }] },
    { services: [{ name: 'caddy', update: 'rollback_completed', tasks: ['Running 1 second ago'] }] },
  ])
  await assert.rejects(waitConverged(rolling.runner, 'proj', { caddy: 'new' }, { timeoutS: 60, sleep }), /an update rolled back: caddy: 1\/1 running/)
  assert.equal(sleeps.length, 1, 'it waited for the previous spec to run')
  const stuck = fakeDocker([{ services: [{ name: 'caddy', tasks: ['Starting 1 second ago'] }] }])
  await assert.rejects(waitConverged(stuck.runner, 'proj', { caddy: 'h', valkey: 'h' }, { timeoutS: 0, sleep }), /not converged after 0s: caddy: 0\/1 running \(starting: task: non-zero exit \(1\)\); valkey: no such service/)
})
