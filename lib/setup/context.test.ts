import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError } from '../core/errors.ts'
import { fakeSetup, repoRegistry } from '../../test/setup-helpers.ts'
import { inferCurrent } from './context.ts'

const q = (current?: string, fallback?: string) => ({ key: 'domain' as const, flag: '--domain DOMAIN', what: 'the domain', current, fallback, prompt: async (i: string | undefined) => `asked(${i})` })

test('decide: a flag wins; then the current configuration (unless an interactive run changes settings); then --yes takes the default; then a prompt; else it is missing', async () => {
  assert.equal(await fakeSetup({ given: { domain: 'flag.org' }, interactive: false }).decide(q('cur.org', 'def.org')), 'flag.org')
  assert.equal(await fakeSetup({ interactive: false }).decide(q('cur.org', 'def.org')), 'cur.org', 'non-interactive: the current answer counts')
  const changing = fakeSetup({ interactive: true })
  assert.equal(await changing.decide(q('cur.org', 'def.org')), 'asked(cur.org)', 'changing settings: asked, the current answer preselected')
  const keeping = fakeSetup({ interactive: true })
  keeping.keep = true
  assert.equal(await keeping.decide(q('cur.org')), 'cur.org')
  assert.equal(await fakeSetup({ interactive: false, yes: true }).decide(q(undefined, 'def.org')), 'def.org')
  assert.equal(await fakeSetup({ interactive: true, yes: true }).decide(q(undefined, 'def.org')), 'def.org', '--yes does not ask where there is a default')
  assert.equal(await fakeSetup({ interactive: true, yes: true }).decide(q()), 'asked(undefined)', 'no default: --yes still asks in a terminal')
  const none = fakeSetup({ interactive: false, yes: true })
  assert.equal(await none.decide(q()), undefined)
  assert.deepEqual(none.missingInputs, [{ key: 'domain', flag: '--domain DOMAIN', what: 'the domain' }])
})

test('secret: stdin/answers file, then the shell, then the files, then a masked prompt; never a flag; a given value that fails validation is a usage error', async () => {
  const all = fakeSetup({ givenSecrets: { T: 'from-stdin' }, shell: { T: 'from-shell' }, dotEnv: { T: 'from-file' }, interactive: false })
  assert.equal(await all.secret('T', { message: 'm', what: 'w' }), 'from-stdin')
  assert.equal(await fakeSetup({ shell: { T: 'from-shell' }, dotEnv: { T: 'from-file' } }).secret('T', { message: 'm', what: 'w' }), 'from-shell')
  assert.equal(await fakeSetup({ dotEnv: { T: 'from-file' } }).secret('T', { message: 'm', what: 'w' }), 'from-file')
  const prompted = fakeSetup({ answers: ['typed'] })
  assert.equal(await prompted.secret('T', { message: 'Token', what: 'w' }), 'typed')
  assert.deepEqual(prompted.prompts.asked.map((a) => a.kind), ['password'])
  const missing = fakeSetup({ interactive: false })
  assert.equal(await missing.secret('T', { message: 'm', what: 'the token' }), undefined)
  assert.match(missing.missingInputs[0].flag, /T in the environment, or --secrets-stdin/)
  await assert.rejects(fakeSetup({ shell: { P: 'short' } }).secret('P', { message: 'm', what: 'w', validate: (v) => (v.length < 14 ? 'at least 14 characters' : undefined) }), (e: Error) => e instanceof UsageError && /P: at least 14 characters/.test(e.message))
})

test('setEnv: a pinned setting is written unless .env has it; other keys only when the files give another value; removals only of what .env has', () => {
  const ctx = fakeSetup({ dotEnv: { STACKYARD_ENVIRONMENT: 'private', DOMAIN: 'a.org' } })
  ctx.setEnv('STACKYARD_ENVIRONMENT', 'private', { pin: true })
  ctx.setEnv('STACKYARD_PROFILE', 'cpu', { pin: true })
  ctx.setEnv('INFISICAL_ENVIRONMENT', 'dev')
  ctx.setEnv('DOMAIN', 'b.org')
  ctx.setEnv('NOT_THERE', null)
  ctx.setEnv('DOMAIN', 'b.org')
  assert.deepEqual([...ctx.changes.keys()], ['STACKYARD_PROFILE', 'DOMAIN'])
  assert.equal(ctx.changes.get('STACKYARD_PROFILE')!.before, undefined, 'added to .env although .env.global has the same value')
  assert.equal(ctx.changes.get('DOMAIN')!.before, 'a.org')
  ctx.setEnv('DOMAIN', 'a.org')
  assert.ok(!ctx.changes.has('DOMAIN'), 'back to the current value: no change')
  assert.equal(ctx.planned().STACKYARD_PROFILE, 'cpu')
  assert.ok(ctx.isSecret('N8N_ENCRYPTION_KEY') && ctx.isSecret('CLOUDFLARE_API_TOKEN') && !ctx.isSecret('DOMAIN'))
})

test('failIfMissing lists every missing answer with its flag, in one usage error', () => {
  const ctx = fakeSetup({ interactive: false })
  ctx.failIfMissing()
  ctx.missing({ key: 'environment', flag: '--environment private|public', what: 'where' })
  ctx.missing({ key: 'T', flag: 'T in the environment, or --secrets-stdin', what: 'a token' })
  assert.throws(() => ctx.failIfMissing(), (e: Error) => e instanceof UsageError && /2 answers/.test(e.message) && /--environment private\|public\s+where/.test(e.message) && /T in the environment, or --secrets-stdin\s+a token/.test(e.message))
})

test('inferCurrent: settings count once .env has STACKYARD_ENVIRONMENT; the Infisical and Cloudflare modes follow from the keys', () => {
  const r = repoRegistry()
  const files = (dotEnv: Record<string, string>) => ({ dotEnv, global: {}, effective: dotEnv })
  assert.deepEqual(inferCurrent(files({ DOMAIN: 'x.org' }), r, 'infisical'), { configured: false, current: { domain: 'x.org', accessEmails: undefined, accessEmailDomain: undefined, infisicalUrl: undefined, infisicalClientId: undefined, infisicalProjectId: undefined } })
  const pub = inferCurrent(files({ STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'x.org', STACKYARD_STACKS: 'apps', STACKYARD_PROFILES: 'infisical', CLOUDFLARE_TUNNEL_TOKEN: 't' }), r, 'infisical')
  assert.equal(pub.configured, true)
  assert.deepEqual(pub.current.stacks, ['data', 'compute', 'apps'], 'with what apps comes after')
  assert.deepEqual([pub.current.infisical, pub.current.cloudflare, pub.current.optional], ['bundled', 'tunnel-token', []])
  const ext = inferCurrent(files({ STACKYARD_ENVIRONMENT: 'private', INFISICAL_API_URL: 'https://i.example.com' }), r, 'infisical')
  assert.deepEqual([ext.current.infisical, ext.current.cloudflare, ext.current.stacks?.length], ['external', undefined, r.stacks.length])
})
