import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkSecret, generateSecret, planSecrets, signJwt, verifyJwt } from './secrets.ts'
import { MAX_PATTERN_INPUT } from '../core/safe-pattern.ts'
import type { SecretDecl } from './registry.ts'
import { SecretSpec } from './x-fields.ts'

const decl = (key: string, spec: unknown): SecretDecl => ({ key, stack: 's', file: 'f', spec: SecretSpec.parse(spec) })

test('generated values have their declared format', () => {
  const hex = generateSecret(SecretSpec.parse({ format: 'hex', bytes: 16, description: 'd' }), {})
  assert.match(hex, /^[0-9a-f]{32}$/)
  const b64 = generateSecret(SecretSpec.parse({ format: 'base64', bytes: 32, description: 'd' }), {})
  assert.equal(Buffer.from(b64, 'base64').length, 32)
  assert.equal(b64.length, 44)
  const pw = generateSecret(SecretSpec.parse({ format: 'password', description: 'd' }), {})
  assert.match(pw, /^[A-Za-z0-9]{32}$/)
  assert.match(generateSecret(SecretSpec.parse({ format: 'uuid', description: 'd' }), {}), /^[0-9a-f-]{36}$/)
  assert.equal(new Set(Array.from({ length: 50 }, () => generateSecret(SecretSpec.parse({ format: 'password', length: 22, description: 'd' }), {}))).size, 50)
})

test('checkSecret catches short, missing and URL-unsafe values', () => {
  const key = SecretSpec.parse({ format: 'hex', bytes: 16, description: 'd' })
  assert.match(checkSecret(key, 'a'.repeat(16), {})!, /32 hex characters/) // token_hex(8): half the length asked for
  assert.equal(checkSecret(key, 'ab'.repeat(16), {}), undefined)
  assert.equal(checkSecret(key, undefined, {}), 'missing')
  const pw = SecretSpec.parse({ format: 'password', description: 'd' })
  assert.match(checkSecret(pw, 'correct-horse-battery', {})!, /too short/) // a ~30-bit passphrase
  assert.match(checkSecret(pw, 'x'.repeat(24) + '@/#', {})!, /not safe in URLs/)
  const ext = SecretSpec.parse({ format: 'external', optional: true, description: 'd' })
  assert.equal(checkSecret(ext, undefined, {}), undefined)
})

test('JWTs are HS256, verify with their source and carry the claims', () => {
  const t = signJwt({ role: 'anon', iss: 'supabase' }, 'k'.repeat(40))
  assert.deepEqual(verifyJwt(t, 'k'.repeat(40)), { role: 'anon', iss: 'supabase' })
  assert.equal(verifyJwt(t, 'other'), undefined)
  const header = JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString())
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' })
})

test('plan: create missing, keep existing (even invalid), rotate on request, re-sign dependants', () => {
  const decls = [
    decl('JWT_SECRET', { format: 'base64', bytes: 30, description: 'd' }),
    decl('ANON_KEY', { format: 'jwt', secret: 'JWT_SECRET', claims: { role: 'anon' }, description: 'd' }),
    decl('ENC', { format: 'hex', bytes: 16, description: 'd' }),
    decl('TOKEN', { format: 'external', description: 'd' }),
  ]
  const first = planSecrets(decls, {})
  assert.deepEqual(Object.keys(first.changes).sort(), ['ANON_KEY', 'ENC', 'JWT_SECRET'])
  assert.equal(first.items.find((i) => i.key === 'TOKEN')?.action, 'ask')
  // converges: a second plan over the result changes nothing
  const second = planSecrets(decls, { ...first.changes, TOKEN: 't' })
  assert.deepEqual(second.changes, {})
  assert.ok(second.items.every((i) => i.action === 'keep'))
  // an invalid existing key is reported, never silently replaced
  const invalid = planSecrets(decls, { ...first.changes, ENC: 'abc' })
  assert.equal(invalid.items.find((i) => i.key === 'ENC')?.action, 'invalid')
  assert.equal(invalid.changes.ENC, undefined)
  // rotating the JWT secret re-signs the JWT that derives from it
  const rotated = planSecrets(decls, { ...first.changes }, { rotate: ['JWT_SECRET'] })
  assert.notEqual(rotated.changes.JWT_SECRET, first.changes.JWT_SECRET)
  assert.ok(verifyJwt(rotated.changes.ANON_KEY, rotated.changes.JWT_SECRET))
  assert.equal(rotated.items.find((i) => i.key === 'ANON_KEY')?.action, 'rederive')
  // a JWT signed with a stale secret (source edited by hand) is re-signed
  const stale = planSecrets(decls, { ...first.changes, JWT_SECRET: Buffer.alloc(30, 7).toString('base64') })
  assert.equal(stale.items.find((i) => i.key === 'ANON_KEY')?.action, 'rederive')
  assert.throws(() => planSecrets(decls, {}, { rotate: ['TOKEN'] }), /supplied by you/)
  assert.throws(() => planSecrets(decls, {}, { rotate: ['NOPE'] }), /not a declared secret/)
})

test('checkSecret: a value longer than MAX_PATTERN_INPUT is refused without being matched against the pattern', () => {
  const spec = { format: 'external', optional: false, pattern: '^a+$', description: 'a token' } as const
  assert.equal(checkSecret(spec, 'a'.repeat(MAX_PATTERN_INPUT), {}), undefined)
  assert.equal(checkSecret(spec, 'a'.repeat(MAX_PATTERN_INPUT + 1), {}), `too long to check against ^a+$ (${MAX_PATTERN_INPUT + 1} characters, at most ${MAX_PATTERN_INPUT})`)
})
