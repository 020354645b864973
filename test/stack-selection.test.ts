// STACKYARD_STACKS (written by the setup wizard): an installation runs only the stacks it chose, with the stacks they
// come after. Up starts only those, Caddy routes only theirs, status counts the others as off, down still stops them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadRegistry } from '../lib/model/registry.ts'
import { activeRoutes, selectedStacks } from '../lib/model/routes.ts'
import { readSettings } from '../lib/model/settings.ts'
import { tempRepo } from './helpers/repo.ts'
import { composeSub, project } from './stack-fixtures.ts'
import { REPO } from './helpers/repo.ts'

test('selectedStacks: unset is every stack; a list adds what it comes after; an unknown name is a ConfigError naming the variable', () => {
  const registry = loadRegistry(REPO)
  const all = registry.stacks.map((s) => s.name)
  assert.deepEqual([...selectedStacks(registry, readSettings({}))], all)
  assert.deepEqual([...selectedStacks(registry, readSettings({ STACKYARD_STACKS: 'infrastructure, data' }))].sort(), ['data', 'infrastructure'])
  const apps = registry.stacks.find((s) => s.after.length)!
  assert.deepEqual([...selectedStacks(registry, readSettings({ STACKYARD_STACKS: apps.name }))].sort(), [apps.name, ...apps.after].sort(), 'dependencies come along')
  assert.throws(() => selectedStacks(registry, readSettings({ STACKYARD_STACKS: 'infrastructure,nope' })), /STACKYARD_STACKS: unknown stack "nope"/)
  const routes = activeRoutes(registry, readSettings({ STACKYARD_STACKS: 'infrastructure' }), {})
  assert.ok(routes.every((r) => r.stack === 'infrastructure'), 'only the chosen stacks are routed')
})

test('up, status and down with STACKYARD_STACKS=infrastructure,data: only those start; the rest is off; down stops every stack', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    repo.write('.env', repo.read('.env') + 'STACKYARD_STACKS=infrastructure,data\n', 0o600)
    const up = await repo.run('up.ts')
    assert.equal(up.code, 0, up.stderr)
    const ups = repo.dockerCalls().filter((c) => composeSub(c) === 'up').map(project).sort()
    assert.deepEqual(ups, ['stackyard-data', 'stackyard-infra'])
    assert.match(up.stderr, /compute: nothing to start \(not in STACKYARD_STACKS\)/)
    const caddyfile = repo.read('caddy/Caddyfile')
    assert.doesNotMatch(caddyfile, /n8n|ollama/, 'no route to a stack that does not run')
    const status = await repo.run('status.ts', ['--json'])
    assert.equal(status.code, 0, status.stderr)
    const rows = JSON.parse(status.stdout).services as Array<{ stack: string; enabled: boolean }>
    assert.ok(rows.filter((r) => r.stack === 'apps').every((r) => !r.enabled), 'apps counted as off, not as failing')
    repo.resetDocker()
    const down = await repo.run('down.ts')
    assert.equal(down.code, 0, down.stderr)
    assert.equal(repo.dockerCalls().filter((c) => composeSub(c) === 'down').length, loadRegistry(repo.root).stacks.length, 'down still stops every stack')
  } finally {
    repo.cleanup()
  }
})
