import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PROBES } from './health.ts'
import type { Platform } from '../docker/platform.ts'
import type { Service } from '../model/registry.ts'

const svc = (over: Partial<Service>): Service => ({ name: 's', stack: 'x', profiles: [], proxy: false, fileEnv: [], raw: {}, ...over })
const p = { registry: { proxy: svc({ name: 'caddy', proxy: true }) } } as unknown as Platform
const probesFor = (s: Service) => PROBES.filter((x) => x.applies(s, p)).map((x) => x.check)

test('probes follow what a service is (image or its own health-check tool), never its name', () => {
  assert.deepEqual(probesFor(svc({ image: 'postgres:16.10-alpine' })), ['postgres ready'])
  assert.deepEqual(probesFor(svc({ image: 'pgvector/pgvector:0.8.6-pg16', raw: { healthcheck: { test: ['CMD', 'pg_isready', '-h', '127.0.0.1'] } } })), ['postgres ready'])
  assert.deepEqual(probesFor(svc({ image: 'valkey/valkey:8.1.4-alpine' })), ['valkey ping'])
  assert.deepEqual(probesFor(svc({ image: 'bitnami/redis:7', name: 'cache' })), ['redis ping'])
  assert.deepEqual(probesFor(svc({ image: 'example/queue:1', raw: { healthcheck: { test: 'redis-cli -h 127.0.0.1 ping' } } })), ['redis ping'])
  assert.deepEqual(probesFor(svc({ image: 'caddy:2.10.2-alpine', proxy: true })), ['proxy config valid'])
  const route = { subdomain: 'infisical', port: 8080, local_port: 8020 } as Service['route']
  assert.deepEqual(probesFor(svc({ image: 'infisical/infisical:v0.162.16', route })), ['infisical /api/status via proxy'])
  assert.deepEqual(probesFor(svc({ image: 'infisical/infisical:v0.162.16' })), [], 'no route: not reachable through the proxy')
  assert.deepEqual(probesFor(svc({ name: 'postgres', image: 'n8nio/n8n:2' })), [], 'a name proves nothing')
})
