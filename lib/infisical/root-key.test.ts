// Infisical's boot rule for its root key: a row wrapped the way Infisical wraps it opens with the right key only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { ACTIVE_ROW_ID, judgeRootKey, parseRootKeyRows } from './root-key.ts'

/** wraps a root key as Infisical does (AES-256-GCM; IV 12 ‖ ciphertext ‖ tag 16), rendered as psql's JSON of bytea */
function wrap(key: Buffer): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(randomBytes(32)), c.final()])
  return '\\x' + Buffer.concat([iv, body, c.getAuthTag()]).toString('hex')
}
const KEY = 'a'.repeat(32)
const OTHER = 'b'.repeat(32)
const rows = (...r: object[]) => JSON.stringify(r)

test('the key Infisical wrapped its root key with opens it; another 32-byte key does not', () => {
  const out = rows({ id: ACTIVE_ROW_ID, encryptedRootKey: wrap(Buffer.from(KEY)), createdAt: '2026-01-01' })
  assert.deepEqual(judgeRootKey(out, KEY), { status: 'opens', row: ACTIVE_ROW_ID })
  assert.deepEqual(judgeRootKey(out, OTHER), { status: 'does-not-open', rows: 1 })
})

test('ROOT_ENCRYPTION_KEY is read as base64; a key that is not 32 bytes is named with its length', () => {
  const raw = randomBytes(32)
  const out = rows({ id: ACTIVE_ROW_ID, encryptedRootKey: wrap(raw) })
  assert.equal(judgeRootKey(out, raw.toString('base64'), 'base64').status, 'opens')
  assert.deepEqual(judgeRootKey(out, 'short'), { status: 'bad-key', bytes: 5 })
})

test('a staged row that the key opens counts (newer Infisicals promote it when they start); HSM rows are not this key\'s', () => {
  const staged = rows({ id: ACTIVE_ROW_ID, encryptedRootKey: wrap(Buffer.from(OTHER)), encryptionStrategy: 'SOFTWARE' }, { id: 'f1', encryptedRootKey: wrap(Buffer.from(KEY)), encryptionStrategy: 'SOFTWARE', activatedAt: null })
  assert.deepEqual(judgeRootKey(staged, KEY), { status: 'opens', row: 'f1' })
  const hsm = rows({ id: ACTIVE_ROW_ID, encryptedRootKey: wrap(Buffer.from(OTHER)), encryptionStrategy: 'HSM' })
  assert.deepEqual(judgeRootKey(hsm, KEY), { status: 'hsm' })
})

test('no row yet, and output that is not the query\'s, are told apart from a wrong key', () => {
  assert.deepEqual(judgeRootKey('[]\n', KEY), { status: 'not-initialized' })
  assert.equal(judgeRootKey('oops', KEY).status, 'unreadable')
  assert.equal(judgeRootKey(rows({ id: ACTIVE_ROW_ID, encryptedRootKey: 'xyz' }), KEY).status, 'unreadable')
  assert.deepEqual(judgeRootKey(rows({ id: ACTIVE_ROW_ID, encryptedRootKey: '\\x00' }), KEY), { status: 'does-not-open', rows: 1 })
  assert.equal((parseRootKeyRows(rows({ id: 'x', encryptedRootKey: '\\xABCD' })) as Array<{ wrapped: Buffer }>)[0].wrapped.toString('hex'), 'abcd')
})
