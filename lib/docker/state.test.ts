import { test } from 'node:test'
import assert from 'node:assert/strict'
import { healthOutput, parseConfigImages, parseContainerInspect, parseImageInspect, parseInfo, parsePs, repository, shortDigest, uptime } from './state.ts'
import { parseVersion, versionAtLeast } from '../env/compose-rules.ts'

const row = { Name: 'stackyard-infra-caddy-1', Service: 'caddy', Project: 'stackyard-infra', Image: 'caddy:2.10.2-alpine', State: 'running', Health: 'healthy', Status: 'Up 5 minutes (healthy)', Publishers: [{ URL: '127.0.0.1', TargetPort: 8020, PublishedPort: 8020, Protocol: 'tcp' }] }

test('parsePs reads JSON lines (Compose ≥ 2.21) and a JSON array (older)', () => {
  const lines = parsePs(JSON.stringify(row) + '\n' + JSON.stringify({ ...row, Name: 'x', Service: 'valkey', Health: '', Publishers: null }) + '\n')
  assert.equal(lines.length, 2)
  assert.equal(lines[0].Publishers[0].PublishedPort, 8020)
  assert.deepEqual(lines[1].Publishers, [])
  assert.deepEqual(parsePs(JSON.stringify([row])).map((r) => r.Service), ['caddy'])
  assert.deepEqual(parsePs(''), [])
  assert.throws(() => parsePs('not json'), /cannot read/)
})

test('uptime strips the health suffix; stopped containers have none', () => {
  assert.equal(uptime('Up 5 minutes (healthy)'), '5 minutes')
  assert.equal(uptime('Up About an hour'), 'About an hour')
  assert.equal(uptime('Up 3 seconds (health: starting)'), '3 seconds')
  assert.equal(uptime('Exited (1) 2 hours ago'), '')
})

test('container inspect: state and the last health-check outputs', () => {
  const c = parseContainerInspect(JSON.stringify([{ Id: 'abc', Image: 'sha256:1', State: { Status: 'running', Health: { Status: 'unhealthy', Log: [1, 2, 3, 4].map((i) => ({ ExitCode: 1, Output: `try ${i}\n` })) } } }]))!
  assert.equal(c.State.Health?.Status, 'unhealthy')
  assert.deepEqual(healthOutput(c), ['exit 1: try 2', 'exit 1: try 3', 'exit 1: try 4'])
  assert.equal(parseContainerInspect('[]'), undefined)
  assert.equal(parseContainerInspect('nope'), undefined)
})

test('image inspect picks the repo digest of the reference\'s repository', () => {
  const out = JSON.stringify([{ Id: 'sha256:aa', RepoTags: ['caddy:2'], RepoDigests: ['mirror.example/caddy@sha256:11', 'caddy@sha256:22'] }])
  assert.deepEqual(parseImageInspect(out, 'caddy:2.10.2-alpine'), { id: 'sha256:aa', repoDigest: 'caddy@sha256:22' })
  assert.deepEqual(parseImageInspect(JSON.stringify([{ Id: 'sha256:bb', RepoDigests: null }])), { id: 'sha256:bb', repoDigest: undefined })
  assert.equal(repository('localhost:5000/team/x:1.2'), 'localhost:5000/team/x')
  assert.equal(repository('ghcr.io/a/b@sha256:ff'), 'ghcr.io/a/b')
  assert.equal(shortDigest('caddy@sha256:0123456789abcdef0123'), '0123456789ab')
})

test('info, config images, compose versions', () => {
  assert.deepEqual(parseInfo(JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: {}, nvidia: {} } })), { serverVersion: '28.2.2', runtimes: ['runc', 'nvidia'] })
  // a swarm manager (what `docker swarm init` makes): the swarm engine can deploy here; a worker or no swarm cannot
  assert.equal(parseInfo(JSON.stringify({ ServerVersion: '28.2.2', Runtimes: {}, Swarm: { LocalNodeState: 'active', ControlAvailable: true } }))?.swarmManager, true)
  assert.equal(parseInfo(JSON.stringify({ ServerVersion: '28.2.2', Runtimes: {}, Swarm: { LocalNodeState: 'active', ControlAvailable: false } }))?.swarmManager, undefined)
  assert.equal(parseInfo(JSON.stringify({ ServerVersion: '28.2.2', Runtimes: {}, Swarm: { LocalNodeState: 'inactive', ControlAvailable: false } }))?.swarmManager, undefined)
  assert.deepEqual(parseConfigImages(JSON.stringify({ name: 'p', services: { a: { image: 'x:1' }, b: { build: '.' } } })), { a: 'x:1' })
  assert.deepEqual(parseVersion('v2.24.0-desktop.1'), [2, 24, 0])
  assert.deepEqual(parseVersion('2.39.1\n'), [2, 39, 1])
  assert.equal(versionAtLeast([2, 24, 0], '2.24.0'), true)
  assert.equal(versionAtLeast([2, 23, 9], '2.24.0'), false)
  assert.equal(versionAtLeast([3, 0, 0], '2.24.0'), true)
  assert.equal(versionAtLeast([2, 100, 0], '2.24.0'), true)
})
