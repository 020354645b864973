// down, status, health, logs, update and the caddy task, end to end against the fake docker.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { composeSub, fixtureRepo as baseRepo, isMutating, portsFrom, project, rel, resetCalls } from './stack-fixtures.ts'

const PORTS = portsFrom(28110)
const fixtureRepo = () => baseRepo({ ports: PORTS })

type State = { projects: Record<string, { services: Record<string, { imageId: string; health: string; state: string }> }>; remote?: unknown; networks?: string[] }

test('down: reverse dependency order, every declared profile, profiled containers gone; --volumes needs a confirmation', async () => {
  const repo = fixtureRepo()
  try {
    assert.equal((await repo.run('up.ts', [], { env: { STACKYARD_PROFILES: 'infisical' } })).code, 0)
    assert.ok('infisical-db' in (repo.dockerState() as State).projects['stackyard-infra'].services)
    resetCalls(repo)
    const r = await repo.run('down.ts') // without STACKYARD_PROFILES: down must still stop the profiled services
    assert.equal(r.code, 0, r.stderr)
    const downs = repo.dockerCalls().filter((c) => composeSub(c) === 'down')
    assert.deepEqual(downs.map(project), ['stackyard-fixture-apps', 'stackyard-fixture-compute', 'stackyard-fixture-data', 'stackyard-infra'], 'one at a time, highest number first')
    const compute = rel(repo, downs.find((c) => project(c) === 'stackyard-fixture-compute')!)
    assert.deepEqual(compute.slice(-6), ['--profile', 'cpu', '--profile', 'gpu-nvidia', 'down', '--remove-orphans'])
    assert.ok(rel(repo, downs.find((c) => project(c) === 'stackyard-infra')!).join(' ').includes('--profile infisical --profile tunnel down --remove-orphans'))
    assert.deepEqual((repo.dockerState() as State).projects, {}, 'nothing left running, profiled services included')

    const refused = await repo.run('down.ts', ['--volumes'])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /pass --yes to confirm/)
    repo.resetDocker()
    const yes = await repo.run('down.ts', ['--volumes', '--yes', '--stack', 'data'])
    assert.equal(yes.code, 0, yes.stderr)
    const only = repo.dockerCalls().filter((c) => composeSub(c) === 'down')
    assert.deepEqual(only.map(project), ['stackyard-fixture-data'], '--stack stops only the named stack')
    assert.deepEqual(only[0].argv.slice(-3), ['down', '--remove-orphans', '--volumes'])
    assert.match(yes.stderr, /apps depends on data and is not being stopped: .*add --stack apps to stop it too/, 'a stopped dependency is named with its dependant')
    assert.doesNotMatch(r.stderr, /depends on/, 'no warning when the dependants stop too')
  } finally {
    repo.cleanup()
  }
})

test('status: per service state, health, image, route; exit 1 when an enabled service is not healthy', async () => {
  const repo = fixtureRepo()
  try {
    const before = await repo.run('status.ts', ['--json'])
    assert.equal(before.code, 1, 'nothing runs yet')
    assert.equal((await repo.run('up.ts')).code, 0)
    const ok = await repo.run('status.ts', ['--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const data = JSON.parse(ok.stdout)
    const web = data.services.find((s: { service: string }) => s.service === 'web')
    assert.deepEqual({ ...web, uptime: undefined }, { stack: 'apps', service: 'web', enabled: true, state: 'running', health: 'healthy', image: 'nginx:1.27.3-alpine', uptime: undefined, url: `http://localhost:${PORTS.web}`, ok: true })
    const gpu = data.services.find((s: { service: string }) => s.service === 'ollama-gpu')
    assert.equal(gpu.enabled, false)
    assert.equal(gpu.ok, true, 'a service whose profile is off does not count')
    assert.equal(repo.dockerCalls().filter(isMutating).length > 0, true)
    const state = repo.dockerState() as State
    state.projects['stackyard-fixture-data'].services.db.health = 'unhealthy'
    repo.write('.test-docker/state.json', JSON.stringify(state))
    const bad = await repo.run('status.ts')
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /data\s+db\s+running\s+unhealthy/)
    assert.match(bad.stderr, /not running or not healthy: data\/db \(unhealthy\)/)
  } finally {
    repo.cleanup()
  }
})

test('health: docker health of every enabled service plus probes derived from the registry; one line each; exit 1 on a failure', async () => {
  const repo = fixtureRepo()
  try {
    assert.equal((await repo.run('up.ts', [], { env: { STACKYARD_PROFILES: 'infisical' } })).code, 0)
    const r = await repo.run('health.ts', ['--json'], { env: { STACKYARD_PROFILES: 'infisical' } })
    assert.equal(r.code, 0, r.stderr)
    const checks = JSON.parse(r.stdout).checks as Array<{ check: string; target: string; ok: boolean; detail: string }>
    const probes = checks.filter((c) => c.check !== 'docker health').map((c) => `${c.check} ${c.target}`).sort()
    assert.deepEqual(probes, [
      'infisical /api/status via proxy infrastructure/infisical-backend',
      'live secrets doctor --live',
      'postgres ready data/db',
      'postgres ready infrastructure/infisical-db',
      'proxy config valid infrastructure/caddy',
      'redis ping infrastructure/infisical-redis',
      'valkey ping infrastructure/valkey',
    ])
    assert.equal(checks.filter((c) => c.check === 'docker health').length, 8, 'infrastructure 5 (with infisical), db, ollama, web')
    const calls = repo.dockerCalls().map((c) => c.argv.join(' '))
    assert.ok(calls.some((c) => c.endsWith('exec -T caddy wget -q -O - -T 5 http://127.0.0.1:8020/api/status')), 'Infisical is probed through the proxy')
    assert.ok(calls.some((c) => c.endsWith('exec -T db pg_isready -h 127.0.0.1 -U app')))
    assert.ok(calls.some((c) => c.endsWith('exec -T caddy caddy validate --adapter caddyfile --config /etc/caddy/Caddyfile')))
    // without the infisical profile its probes are not run
    assert.match(checks.find((c) => c.check === 'live secrets')!.detail, /^ok: 1 secret accepted by the running services/, 'doctor --live\'s result in one line')
    const off = await repo.run('health.ts', ['--json'])
    assert.ok(!JSON.parse(off.stdout).checks.some((c: { check: string }) => c.check.startsWith('infisical')))
    repo.dockerRules([{ match: ['valkey-cli'], exit: 1, stderr: 'Could not connect to Valkey at 127.0.0.1:6379: Connection refused' }])
    const bad = await repo.run('health.ts')
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /FAIL\s+valkey ping\s+infrastructure\/valkey\s+Could not connect/)
  } finally {
    repo.cleanup()
  }
})

test('logs: streams the stack\'s compose logs with the flags passed through; unknown services are a usage error', async () => {
  const repo = fixtureRepo()
  try {
    repo.write('.test-docker/state.json', JSON.stringify({ projects: { 'stackyard-infra': { services: { caddy: { image: 'caddy', state: 'running' } } } }, logs: { 'stackyard-infra/caddy': 'serving :80' } }))
    const r = await repo.run('logs.ts', ['--stack', 'infrastructure', 'caddy', '--since', '10m', '--tail', '50'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /caddy-1 {2}\| serving :80/)
    const call = repo.dockerCalls().at(-1)!
    assert.deepEqual(call.argv.slice(call.argv.indexOf('logs')), ['logs', '--no-color', '--since', '10m', '--tail', '50', 'caddy'])
    const bad = await repo.run('logs.ts', ['--stack', 'infrastructure', 'nginx'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /nginx: not a service of infrastructure/)
    assert.equal((await repo.run('logs.ts', [])).code, 2)
  } finally {
    repo.cleanup()
  }
})

test('update: reports changed digests without restarting; --apply recreates only those; --rollback restores the recorded images', async () => {
  const repo = fixtureRepo()
  try {
    assert.equal((await repo.run('up.ts')).code, 0)
    const running = () => (repo.dockerState() as State).projects
    const oldCaddy = running()['stackyard-infra'].services.caddy.imageId
    const oldValkey = running()['stackyard-infra'].services.valkey.imageId
    const state = repo.dockerState() as State
    state.remote = { 'caddy:2.10.2-alpine': { id: 'sha256:' + 'ab'.repeat(32), digest: 'caddy@sha256:' + 'cd'.repeat(32) } }
    resetCalls(repo)
    repo.write('.test-docker/state.json', JSON.stringify(state))

    const dry = await repo.run('update.ts', ['--dry-run', '--apply'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [], '--dry-run pulls nothing')

    const r = await repo.run('update.ts', ['--json'])
    assert.equal(r.code, 0, r.stderr)
    const changes = JSON.parse(r.stdout).changes as Array<{ stack: string; service: string; status: string; running?: { id: string }; pulled?: { id: string; repoDigest?: string } }>
    const caddy = changes.find((c) => c.service === 'caddy')!
    assert.equal(caddy.status, 'changed')
    assert.equal(caddy.running!.id, oldCaddy)
    assert.deepEqual(caddy.pulled, { id: 'sha256:' + 'ab'.repeat(32), repoDigest: 'caddy@sha256:' + 'cd'.repeat(32) })
    assert.deepEqual(changes.filter((c) => c.status === 'changed').map((c) => c.service), ['caddy'])
    assert.equal(repo.dockerCalls().filter((c) => composeSub(c) === 'up').length, 0, 'pulling restarts nothing')
    assert.equal(running()['stackyard-infra'].services.caddy.imageId, oldCaddy)

    resetCalls(repo)
    // caddy holds state: the backup gate (test/update.test.ts) is switched off here
    const apply = await repo.run('update.ts', ['--apply'], { env: { STACKYARD_UPDATE_BACKUP_MAX_AGE: 'off' } })
    assert.equal(apply.code, 0, apply.stderr)
    assert.match(apply.stderr, /backup check off \(off\): recreating infrastructure\/caddy without looking for a backup/)
    assert.match(apply.stdout, /infrastructure\/caddy\s+caddy:2\.10\.2-alpine\s+\w{12}\s+→\s+cdcdcdcdcdcd\s+changed/)
    const recreate = repo.dockerCalls().filter((c) => composeSub(c) === 'up')
    assert.equal(recreate.length, 1)
    assert.deepEqual(recreate[0].argv.slice(recreate[0].argv.indexOf('up')), ['up', '--detach', '--wait', '--wait-timeout', '300', '--no-deps', '--force-recreate', 'caddy'])
    assert.equal(running()['stackyard-infra'].services.caddy.imageId, 'sha256:' + 'ab'.repeat(32))
    assert.equal(running()['stackyard-infra'].services.valkey.imageId, oldValkey)
    const history = JSON.parse(repo.read('.stackyard/image-history.json'))
    assert.deepEqual(history.entries[0].services.map((s: { service: string; from: { id: string } }) => [s.service, s.from.id]), [['caddy', oldCaddy]])
    assert.equal(history.entries[0].applied, true)

    resetCalls(repo)
    const back = await repo.run('update.ts', ['--rollback'])
    assert.equal(back.code, 0, back.stderr)
    const calls = repo.dockerCalls()
    assert.ok(calls.some((c) => c.argv.join(' ') === `tag ${oldCaddy} caddy:2.10.2-alpine`))
    assert.equal(running()['stackyard-infra'].services.caddy.imageId, oldCaddy, 'the previous image runs again')
    assert.equal(JSON.parse(repo.read('.stackyard/image-history.json')).entries[0].rolledBack, true)
    resetCalls(repo)
    const again = await repo.run('update.ts', ['--rollback'])
    assert.equal(again.code, 0)
    assert.match(again.stderr, /nothing to roll back/)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])
  } finally {
    repo.cleanup()
  }
})

test('caddy: render converges, validate runs the real caddy, reload needs the running proxy and does not restart it', async () => {
  const repo = fixtureRepo()
  try {
    const first = await repo.run('00-infrastructure/caddy.ts', ['render'])
    assert.equal(first.code, 0, first.stderr)
    assert.match(repo.read('caddy/Caddyfile'), new RegExp(`^:${PORTS.web} \\{$`, 'm'))
    const again = await repo.run('00-infrastructure/caddy.ts', ['render', '--dry-run'])
    assert.match(again.stderr, /up to date/)
    assert.doesNotMatch(again.stdout, /\[dry-run\]/)
    const printed = await repo.run('00-infrastructure/caddy.ts', ['render', '--print', '--environment', 'public'], { env: { DOMAIN: 'example.test' } })
    assert.match(printed.stdout, /^http:\/\/web\.\{\$DOMAIN\}:80 \{$/m)
    const valid = await repo.run('00-infrastructure/caddy.ts', ['validate'])
    assert.equal(valid.code, 0, valid.stderr)
    assert.match(valid.stderr, /local caddy: valid/)
    const noProxy = await repo.run('00-infrastructure/caddy.ts', ['reload'])
    assert.equal(noProxy.code, 1)
    assert.match(noProxy.stderr, /not running: nothing to reload/)
    resetCalls(repo)
    repo.write('.test-docker/state.json', JSON.stringify({ projects: { 'stackyard-infra': { services: { caddy: { image: 'caddy:2.10.2-alpine', state: 'running', health: 'healthy' } } } } }))
    const reload = await repo.run('00-infrastructure/caddy.ts', ['reload'])
    assert.equal(reload.code, 0, reload.stderr)
    const calls = repo.dockerCalls().map((c) => c.argv.slice(c.argv.indexOf('exec') >= 0 ? c.argv.indexOf('exec') : 0).join(' '))
    assert.ok(calls.includes('exec -T caddy caddy reload --adapter caddyfile --config /etc/caddy/Caddyfile'))
    assert.ok(!repo.dockerCalls().some((c) => ['up', 'restart'].includes(composeSub(c) ?? '')))
  } finally {
    repo.cleanup()
  }
})
