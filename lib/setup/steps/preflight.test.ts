import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../core/errors.ts'
import { DOCKER_OK, fakeSetup } from '../../../test/setup-helpers.ts'
import { preflight } from './preflight.ts'

test('preflight: Docker and Compose found; no GPU: no profile suggested; nothing asked', async () => {
  const ctx = fakeSetup({ exec: DOCKER_OK })
  await preflight(ctx)
  assert.deepEqual([ctx.facts.docker?.serverVersion, ctx.facts.docker?.composeVersion, ctx.facts.gpu, ctx.facts.dockerProblem], ['28.2.2', '2.39.1', undefined, undefined])
  assert.deepEqual(ctx.prompts.asked, [])
})

test('preflight: Docker missing is recorded with how to install it, not an error (the configuration is still written)', async () => {
  const ctx = fakeSetup({ exec: {} })
  await preflight(ctx)
  assert.match(ctx.facts.dockerProblem!.message, /docker is not installed/)
  assert.match(ctx.facts.dockerProblem!.hint!, /docs\.docker\.com\/engine\/install/)
  assert.match(ctx.warnings[0], /the configuration is written anyway/)
  const old = fakeSetup({ exec: { ...DOCKER_OK, 'docker compose version': { stdout: '2.20.0\n' } } })
  await preflight(old)
  assert.match(old.facts.dockerProblem!.message, /Compose 2\.20\.0 is too old/)
})

test('preflight: an NVIDIA GPU with the nvidia runtime offers gpu-nvidia; without the runtime cpu and how to fix it; /dev/kfd + /dev/dri offer gpu-amd', async () => {
  const smi = { 'nvidia-smi': { stdout: 'NVIDIA GeForce RTX 4090\n' } }
  const withRuntime = fakeSetup({ exec: { ...smi, ...DOCKER_OK, 'docker info': { stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: {}, nvidia: {} } }) } } })
  await preflight(withRuntime)
  assert.equal(withRuntime.facts.gpu, 'gpu-nvidia')
  const noRuntime = fakeSetup({ exec: { ...smi, ...DOCKER_OK } })
  await preflight(noRuntime)
  assert.equal(noRuntime.facts.gpu, 'cpu')
  assert.ok(noRuntime.logged.some((l) => /nvidia-container-toolkit/.test(l)))
  const amd = fakeSetup({ exec: DOCKER_OK, exists: ['/dev/kfd', '/dev/dri'] })
  await preflight(amd)
  assert.equal(amd.facts.gpu, 'gpu-amd')
  const half = fakeSetup({ exec: DOCKER_OK, exists: ['/dev/dri'] })
  await preflight(half)
  assert.equal(half.facts.gpu, undefined)
})

test('preflight: a Node.js older than 20.12 stops with how to upgrade', async () => {
  const ctx = fakeSetup({ exec: DOCKER_OK })
  ctx.probe.nodeVersion = '20.11.1'
  await assert.rejects(preflight(ctx), (e: Error) => e instanceof ConfigError && /Node\.js 20\.11\.1 is too old/.test(e.message))
})

test('preflight with --context (another machine\'s engine): no local GPU probe; the engine\'s nvidia runtime offers gpu-nvidia', async () => {
  const ctx = fakeSetup({ exec: { ...DOCKER_OK, 'docker info': { stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: {}, nvidia: {} } }) } }, exists: ['/dev/kfd', '/dev/dri'] })
  ctx.probe.remote = true
  await preflight(ctx)
  assert.equal(ctx.facts.gpu, 'gpu-nvidia')
  const plain = fakeSetup({ exec: DOCKER_OK, exists: ['/dev/kfd', '/dev/dri'] })
  plain.probe.remote = true
  await preflight(plain)
  assert.equal(plain.facts.gpu, undefined, 'this machine\'s device nodes say nothing about the engine\'s host')
})
