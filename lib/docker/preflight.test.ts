import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { checkGpu, checkPorts, checkSecrets, probePort } from './preflight.ts'
import { ConfigError } from '../core/errors.ts'
import type { SecretDecl } from '../model/registry.ts'

test('probePort: free, then busy while something listens', async () => {
  const s = createServer()
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  const port = (s.address() as AddressInfo).port
  assert.equal(await probePort('127.0.0.1', port), 'busy')
  await new Promise<void>((ok) => s.close(() => ok()))
  assert.equal(await probePort('127.0.0.1', port), 'free')
  assert.equal(await probePort('192.0.2.1', port), 'EADDRNOTAVAIL')
})

test('checkPorts: all busy ports in one error (exit 2) with the fix; our own proxy\'s ports pass', async () => {
  const claims = [8001, 8002, 8003].map((port) => ({ port, owner: `apps/s${port}`, file: 'compose/03-apps/docker-compose.yml' }))
  const probe = async (_h: string, p: number) => (p === 8003 ? 'free' : 'busy')
  const err = await checkPorts(claims, '127.0.0.1', new Set(), { probePort: probe }).catch((e) => e)
  assert.ok(err instanceof ConfigError)
  assert.equal(err.exitCode, 2)
  assert.match(err.message, /127\.0\.0\.1:8001 \(apps\/s8001.*127\.0\.0\.1:8002/)
  assert.match(err.hint!, /local_port/)
  await checkPorts(claims, '127.0.0.1', new Set([8001, 8002]), { probePort: probe })
  await assert.rejects(checkPorts(claims, '10.9.9.9', new Set(), { probePort: async () => 'EADDRNOTAVAIL' }), /LOCAL_BIND_ADDRESS 10\.9\.9\.9 is not an address/)
})

test('checkGpu: AMD device nodes; cpu needs nothing', async () => {
  const facts = { composeVersion: '2.39.1', serverVersion: '28', runtimes: ['runc'] }
  const exec = async () => ({ exitCode: 0, stdout: '', stderr: '' })
  await checkGpu('cpu', facts, { exec, exists: () => false })
  await assert.rejects(checkGpu('gpu-amd', facts, { exec, exists: (p) => p === '/dev/dri' }), /\/dev\/kfd missing/)
  await checkGpu('gpu-amd', facts, { exec, exists: () => true })
  await checkGpu('gpu-nvidia', { ...facts, runtimes: ['runc', 'nvidia'] }, { exec: async () => ({ exitCode: 0, stdout: 'NVIDIA A100\n', stderr: '' }), exists: () => true })
})

test('checkSecrets: missing generated → generate hint; missing required external → supply hint; invalid → warning only', () => {
  const d = (key: string, spec: SecretDecl['spec']): SecretDecl => ({ key, stack: 'x', file: 'f', spec })
  const warned: string[] = []
  const log = { warn: (m: string) => void warned.push(m) }
  assert.throws(() => checkSecrets([d('K', { format: 'hex', bytes: 16, description: 'k' })], {}, log), (e: ConfigError) => e.exitCode === 2 && /missing secret: K/.test(e.message) && /secrets\.ts generate/.test(e.hint!))
  assert.throws(() => checkSecrets([d('T', { format: 'external', optional: false, description: 'a token' })], {}, log), /missing value you supply: T \(a token\)/)
  checkSecrets([d('O', { format: 'external', optional: true, description: 'o' }), d('K', { format: 'hex', bytes: 16, description: 'k' })], { K: 'abc' }, log)
  assert.match(warned[0], /^K must be 32 hex characters/)
})
