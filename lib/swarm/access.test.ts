import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import type { ExecOptions, Runner } from '../core/exec.ts'
import type { Platform } from '../docker/platform.ts'
import type { Stack } from '../model/registry.ts'
import { runningTasks } from './tasks.ts'
import { swarmAccess } from './access.ts'
import { serviceLogsCommand, swarmLogs } from './logs.ts'

type Task = { id: string; name: string; node: string; container: string; state?: string }

/** a docker CLI answering stack ps, inspect --type task, info and exec as Docker 24 does, recording each call */
function fakeDocker(tasks: Task[], o: { node?: string; services?: string[] } = {}) {
  const calls: Array<{ args: string[]; opts?: ExecOptions }> = []
  const runner: Runner = async (_cmd, args, opts) => {
    calls.push({ args: [...args], opts })
    const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' })
    if (args[0] === 'stack' && args[1] === 'ps') return tasks.length ? ok(tasks.map((t) => `${t.id}\t${t.name}`).join('\n')) : { exitCode: 1, stdout: '', stderr: `nothing found in stack: ${args[2]}` }
    if (args[0] === 'inspect' && args[2] === 'task')
      return ok(JSON.stringify(args.slice(3).map((id) => tasks.find((t) => t.id === id)!).map((t) => ({ ID: t.id, NodeID: t.node, Status: { State: t.state ?? 'running', ContainerStatus: { ContainerID: t.container } } }))))
    if (args[0] === 'info') return ok(args.at(-1)!.includes('NodeID') ? `${o.node ?? 'node-a'}\n` : 'active true\n')
    if (args[0] === 'exec') return ok('PONG\n')
    if (args[0] === 'service' && args[1] === 'ls') return ok((o.services ?? []).map((s) => `id-${s}`).join('\n'))
    if (args[0] === 'service' && args[1] === 'inspect') return ok(JSON.stringify((o.services ?? []).map((s) => ({ ID: `id-${s}`, Spec: { Name: `proj_${s}` } }))))
    if (args[0] === 'service' && args[1] === 'ps') return ok('')
    if (args[0] === 'service' && args[1] === 'logs') return { exitCode: 0, stdout: '', stderr: '' }
    throw new Error(`unexpected docker ${args.join(' ')}`)
  }
  return { runner, calls }
}

const stack = { name: 'data', project: 'proj', services: [{ name: 'postgres' }, { name: 'valkey' }] } as unknown as Stack
const p = { registry: { stack: () => stack } } as unknown as Platform

test('runningTasks: each task desired running with its service, state, node and container; none for a stack not deployed', async () => {
  const d = fakeDocker([{ id: 't1', name: 'proj_postgres.1', node: 'node-a', container: 'c1' }, { id: 't2', name: 'proj_valkey.1', node: 'node-b', container: 'c2', state: 'starting' }])
  assert.deepEqual(await runningTasks(d.runner, 'proj'), [
    { id: 't1', service: 'postgres', state: 'running', node: 'node-a', container: 'c1' },
    { id: 't2', service: 'valkey', state: 'starting', node: 'node-b', container: 'c2' },
  ])
  assert.deepEqual(d.calls[0].args, ['stack', 'ps', 'proj', '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.ID}}\t{{.Name}}'])
  assert.deepEqual(await runningTasks(fakeDocker([]).runner, 'proj'), [])
})

test('swarm access: a command runs in the running task\'s container on this node (stdin with --interactive); another node or no task is said, not reached', async () => {
  const d = fakeDocker([{ id: 't1', name: 'proj_postgres.1', node: 'node-a', container: 'c1' }, { id: 't2', name: 'proj_valkey.1', node: 'node-b', container: 'c2' }])
  const access = swarmAccess({ exec: d.runner }, p)
  assert.deepEqual([...(await access.running('data'))], ['postgres', 'valkey'])
  const stdin = Readable.from(['secret\n'])
  const r = await access.exec(stack, 'postgres', ['sh', '-c', 'read x'], { stdin, timeoutMs: 5 })
  assert.equal(r.exitCode, 0)
  const exec = d.calls.find((c) => c.args[0] === 'exec')!
  assert.deepEqual(exec.args, ['exec', '--interactive', 'c1', 'sh', '-c', 'read x'])
  assert.equal(exec.opts?.stdin, stdin, 'the value goes on stdin, not in argv')
  await access.exec(stack, 'postgres', ['pg_isready'])
  assert.deepEqual(d.calls.filter((c) => c.args[0] === 'exec')[1].args, ['exec', 'c1', 'pg_isready'])
  const far = await access.exec(stack, 'valkey', ['valkey-cli', 'ping'])
  assert.equal(far.exitCode, 1)
  assert.match(far.stderr, /proj_valkey runs on another node \(node-b\): docker exec reaches only this engine's containers/)
  const none = await access.exec(stack, 'ollama', ['true'])
  assert.match(none.stderr, /proj_ollama has no running task/)
  assert.equal(d.calls.filter((c) => c.args[0] === 'stack').length, 1, 'the tasks are asked once per stack')
})

test('swarm logs: docker service logs per deployed service (stack order), through the filter; a service not deployed is a usage error', async () => {
  assert.deepEqual(serviceLogsCommand('proj_postgres', { follow: true, since: '10m', tail: 5 }), ['service', 'logs', '--follow', '--since', '10m', '--tail', '5', 'proj_postgres'])
  const d = fakeDocker([], { services: ['valkey', 'postgres'] })
  const filter = (t: string) => t
  assert.equal(await swarmLogs({ exec: d.runner }, stack, { services: [], tail: 3, filter }), 0)
  const logs = d.calls.filter((c) => c.args[1] === 'logs')
  assert.deepEqual(logs.map((c) => c.args.at(-1)), ['proj_postgres', 'proj_valkey'])
  assert.ok(logs.every((c) => c.opts?.passthrough === filter && c.opts?.nothrow))
  await assert.rejects(swarmLogs({ exec: fakeDocker([], { services: ['postgres'] }).runner }, stack, { services: ['valkey'], filter }), /valkey: not deployed in stack proj/)
  await assert.rejects(swarmLogs({ exec: fakeDocker([], { services: [] }).runner }, stack, { services: [], filter }), /data is not deployed on this swarm/)
})
