import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { consumers, renderRotationPlan, type RotationPlan } from './secret-rotation.ts'

const registry = loadRegistry(repoRoot)
const names = (key: string) => consumers(registry, key).map((c) => `${c.stack}/${c.service}`)

test('the services a rotation recreates are those whose compose files use ${KEY}, wherever (environment, a URL)', () => {
  assert.deepEqual(names('N8N_DB_PASSWORD'), ['data/postgres', 'apps/n8n'])
  assert.deepEqual(names('OPENWEBUI_DB_PASSWORD'), ['data/postgres', 'apps/openwebui'], 'inside DATABASE_URL too')
  assert.deepEqual(names('POSTGRES_PASSWORD'), ['data/postgres'])
  assert.deepEqual(names('INFISICAL_POSTGRES_PASSWORD'), ['infrastructure/infisical-db', 'infrastructure/infisical-backend'])
  assert.deepEqual(names('NOT_DECLARED_ANYWHERE'), [])
})

test('the plan says which role in which service, which file, which services are recreated and what proves it; never a value', () => {
  const plan: RotationPlan = {
    keys: ['N8N_DB_PASSWORD'],
    inPlace: true,
    roles: [{ key: 'N8N_DB_PASSWORD', stack: 'data', service: 'postgres', role: 'n8n', admin: 'postgres' }],
    infisical: [],
    files: [{ file: '.env', keys: ['N8N_DB_PASSWORD'] }],
    recreate: [{ stack: 'data', services: ['postgres'] }, { stack: 'apps', services: ['n8n'] }],
    verify: ['N8N_DB_PASSWORD'],
    warnings: [],
  }
  assert.deepEqual(renderRotationPlan(plan), [
    '1. ALTER ROLE n8n PASSWORD … in data/postgres (as postgres; the password on stdin) for N8N_DB_PASSWORD',
    '2. write .env: N8N_DB_PASSWORD (atomic; the previous file in .env.bak)',
    '3. recreate data/postgres then apps/n8n and wait until healthy',
    '4. prove N8N_DB_PASSWORD with the live check (as doctor --live)',
    'on any failure after step 1: the old value goes back into the database and the files, and the services are recreated with it (exit 1)',
  ])
  assert.deepEqual(renderRotationPlan({ ...plan, inPlace: false, roles: [], recreate: [], verify: [] }), ['no running service uses N8N_DB_PASSWORD: only .env changes'])
  // a key Infisical supplies: changed there first, then in its export and in .env, which holds it too
  const viaInfisical = { ...plan, infisical: ['N8N_DB_PASSWORD'], files: [{ file: '.env', keys: ['N8N_DB_PASSWORD'] }, { file: '.env.infisical', keys: ['N8N_DB_PASSWORD'] }] }
  assert.deepEqual(renderRotationPlan(viaInfisical).slice(1, 4), [
    '2. change N8N_DB_PASSWORD in Infisical (one PATCH per key; the previous value kept for the undo)',
    '3. write .env: N8N_DB_PASSWORD (atomic; the previous file in .env.bak)',
    '4. write .env.infisical: N8N_DB_PASSWORD (atomic; the previous file in .env.infisical.bak)',
  ])
  assert.match(renderRotationPlan(viaInfisical).at(-1)!, /back into the database, Infisical and the files/)
})
