import { test } from 'node:test'
import assert from 'node:assert/strict'
import { literal, serviceEnvironment } from './service-env.ts'

test('serviceEnvironment: list and map syntax alike; a bare KEY is taken from the shell (undefined); "=" inside a value stays', () => {
  const list = serviceEnvironment(['POSTGRES_USER=app', 'URL=postgres://a:b@db/x?sslmode=disable', 'FROM_SHELL', 'EMPTY='])
  assert.deepEqual(list, { POSTGRES_USER: 'app', URL: 'postgres://a:b@db/x?sslmode=disable', FROM_SHELL: undefined, EMPTY: '' })
  assert.deepEqual(serviceEnvironment({ POSTGRES_USER: 'app', PORT: 5432, FROM_SHELL: null }), { POSTGRES_USER: 'app', PORT: '5432', FROM_SHELL: undefined })
  assert.deepEqual(serviceEnvironment(undefined), {})
})

test('literal: only a value the file gives as is; nothing to interpolate, not empty', () => {
  assert.equal(literal('app'), 'app')
  assert.equal(literal('${POSTGRES_USER:-postgres}'), undefined)
  assert.equal(literal('$USER'), undefined)
  assert.equal(literal(''), undefined)
  assert.equal(literal(undefined), undefined)
})
