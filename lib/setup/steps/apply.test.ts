import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FailureError } from '../../core/errors.ts'
import { parseDotenv } from '../../env/dotenv.ts'
import type { FlagDecls } from '../../core/flags.ts'
import type { TaskContext } from '../../task/task.ts'
import { fakeSetup } from '../../../test/setup-helpers.ts'
import type { Action } from '../context.ts'
import { apply } from './apply.ts'

function setup(o: Parameters<typeof fakeSetup>[0] = {}) {
  const root = mkdtempSync(join(tmpdir(), 'setup-apply-'))
  const ctx = fakeSetup({ interactive: false, root, fresh: () => ({ root }) as TaskContext<FlagDecls>, ...o })
  ctx.facts.docker = { serverVersion: '28.2.2', composeVersion: '2.39.1', runtimes: [] }
  return { ctx, root, env: () => readFileSync(join(root, '.env'), 'utf8') }
}
const action = (title: string, run: Action['run'], o: Partial<Action> = {}): Action => ({ title, resume: [`npx zx tasks/${title}.ts`], run, ...o })

test('apply: every key in one write (mode 0600), then the actions in order on a fresh context; their .env writes keep the pre-run backup', async () => {
  const { ctx, root, env } = setup()
  writeFileSync(join(root, '.env'), '# mine\nKEEP=1\n', { mode: 0o644 })
  ctx.setEnv('STACKYARD_ENVIRONMENT', 'private', { pin: true })
  ctx.setEnv('N8N_ENCRYPTION_KEY', 'ab'.repeat(32))
  const order: string[] = []
  ctx.actions.push(
    action('first', async (a) => {
      order.push('first')
      await a.task().editEnv('.env', { CLOUDFLARE_TUNNEL_TOKEN: 'token-from-cloudflare' })
    }),
    action('second', async (a) => {
      order.push(`second saw ${a.task().root === root}`)
    }),
  )
  assert.equal(await apply(ctx), 0)
  assert.deepEqual(order, ['first', 'second saw true'])
  const written = parseDotenv(env())
  assert.deepEqual([written.KEEP, written.STACKYARD_ENVIRONMENT, written.CLOUDFLARE_TUNNEL_TOKEN], ['1', 'private', 'token-from-cloudflare'])
  assert.ok(env().startsWith('# mine\n'), 'comments and order kept')
  assert.equal(statSync(join(root, '.env')).mode & 0o777, 0o600)
  assert.equal(readFileSync(join(root, '.env.bak'), 'utf8'), '# mine\nKEEP=1\n', 'the backup is .env as it was before the run, not after the first write')
})

test('apply: --no-start and a missing Docker skip the actions that need them and say what to run; a failing action says how to resume', async () => {
  const ran: string[] = []
  const { ctx } = setup({ start: false })
  ctx.actions.push(action('cloud', async () => void ran.push('cloud')), action('boot', async () => void ran.push('boot'), { docker: true, starts: true }))
  assert.equal(await apply(ctx), 0)
  assert.deepEqual(ran, ['cloud'])
  assert.ok(ctx.logged.some((l) => /start it: npx zx tasks\/setup\.ts/.test(l)))

  const noDocker = setup()
  noDocker.ctx.facts = { dockerProblem: { message: 'docker is not installed', hint: 'install it' } }
  noDocker.ctx.setEnv('STACKYARD_ENVIRONMENT', 'private', { pin: true })
  noDocker.ctx.actions.push(action('boot', async () => void ran.push('boot2'), { docker: true }))
  assert.equal(await apply(noDocker.ctx), 0)
  assert.ok(!ran.includes('boot2'))
  assert.ok(existsSync(join(noDocker.root, '.env')), 'the configuration is written all the same')
  assert.ok(noDocker.ctx.logged.some((l) => /Docker: docker is not installed; install it/.test(l)))

  const failing = setup()
  failing.ctx.actions.push(action('broken', async () => {
    throw new FailureError('the tunnel could not be created', { hint: 'check the token' })
  }))
  await assert.rejects(apply(failing.ctx), (e: Error) => e instanceof FailureError && /check the token; then run npx zx tasks\/setup\.ts again/.test((e as FailureError).hint!))

  const problems = setup()
  problems.ctx.actions.push(action('partial', async (a) => void a.problems.push('Cloudflare: a record is left')))
  assert.equal(await apply(problems.ctx), 1, 'problems left: exit 1 after finishing')
})

test('apply under --dry-run writes nothing and runs nothing: it lists the write and the actions', async () => {
  const { ctx, root } = setup({ dryRun: true })
  ctx.setEnv('STACKYARD_ENVIRONMENT', 'private', { pin: true })
  ctx.actions.push(action('cloud', async () => assert.fail('must not run')))
  assert.equal(await apply(ctx), 0)
  assert.ok(!existsSync(join(root, '.env')))
  assert.deepEqual(ctx.skippedLines, ['write .env (mode 0600): +STACKYARD_ENVIRONMENT', 'cloud'])
})
