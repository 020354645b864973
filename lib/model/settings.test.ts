import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readEngine, readSettings } from './settings.ts'
import { ConfigError } from '../core/errors.ts'

test('STACKYARD_ENGINE: compose unless set; swarm when set; --engine wins; anything else names its source', () => {
  assert.equal(readSettings({}).engine, 'compose')
  assert.equal(readSettings({ STACKYARD_ENGINE: 'swarm' }).engine, 'swarm')
  assert.equal(readSettings({ STACKYARD_ENGINE: 'swarm' }, undefined, { engine: 'compose' }).engine, 'compose')
  assert.throws(() => readEngine({ STACKYARD_ENGINE: 'k8s' }, { sources: { STACKYARD_ENGINE: { kind: 'file', file: '.env', line: 3 } as never } }), (e: Error) => e instanceof ConfigError && /STACKYARD_ENGINE \(\.env:3\): "k8s" is not compose or swarm/.test(e.message))
  assert.throws(() => readEngine({}, undefined, 'nomad'), /--engine: "nomad"/)
})
