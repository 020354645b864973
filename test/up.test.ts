// tasks/up.ts end to end against the fake docker: exact compose command lines, order, env-file layering, profiles,
// the environment override, --wait, generated inputs, convergence, dry-run, failures and preflight.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { mkdtempSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { composeSub, fixtureRepo, isMutating, PORTS, project, rel } from './stack-fixtures.ts'

const ups = (calls: ReturnType<ReturnType<typeof fixtureRepo>['dockerCalls']>) => calls.filter((c) => composeSub(c) === 'up')

test('up: one compose project per stack, dependencies first, exact command lines with absolute files, env-file layers and profiles', async () => {
  const repo = fixtureRepo()
  try {
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stderr)
    const calls = repo.dockerCalls()
    const upCalls = ups(calls)
    // infrastructure first, apps last; data and compute (both only after infrastructure) start concurrently
    const order = upCalls.map(project)
    assert.equal(order[0], 'stackyard-infra')
    assert.deepEqual(order.slice(1, 3).sort(), ['stackyard-fixture-compute', 'stackyard-fixture-data'])
    assert.equal(order[3], 'stackyard-fixture-apps')
    const byProject = (name: string) => upCalls.find((c) => project(c) === name)!
    const envFiles = ['--env-file', '$ROOT/.stackyard/derived.env', '--env-file', '$ROOT/.env.global', '--env-file', '$ROOT/.env']
    const wait = ['up', '--detach', '--wait', '--wait-timeout', '300']
    assert.deepEqual(rel(repo, byProject('stackyard-infra')), [
      'compose', '--project-name', 'stackyard-infra', '--project-directory', '$ROOT/compose/00-infrastructure',
      '-f', '$ROOT/compose/00-infrastructure/docker-compose.yml', '-f', '$ROOT/.stackyard/proxy-ports.private.yml',
      ...envFiles, ...wait,
    ])
    assert.deepEqual(rel(repo, byProject('stackyard-fixture-compute')), [
      'compose', '--project-name', 'stackyard-fixture-compute', '--project-directory', '$ROOT/compose/20-compute',
      '-f', '$ROOT/compose/20-compute/docker-compose.yml', ...envFiles, '--profile', 'cpu', ...wait,
    ])
    assert.deepEqual(rel(repo, byProject('stackyard-fixture-apps')).slice(0, 7), ['compose', '--project-name', 'stackyard-fixture-apps', '--project-directory', '$ROOT/compose/30-apps', '-f', '$ROOT/compose/30-apps/docker-compose.yml'])
    assert.ok(!rel(repo, byProject('stackyard-fixture-apps')).includes('$ROOT/compose/30-apps/docker-compose.override.public.yml'), 'private: no public override')
    // the network exists before any stack starts
    const created = calls.findIndex((c) => c.argv.join(' ') === 'network create ai-network')
    assert.ok(created >= 0 && created < calls.indexOf(upCalls[0]))
    // generated inputs: derived URLs (no secrets), the proxy ports from x-route, the Caddyfile
    const derived = repo.read('.stackyard/derived.env')
    assert.match(derived, /^WEB_URL="http:\/\/localhost:28103"$/m)
    assert.match(derived, /^INFISICAL_SITE_URL="http:\/\/localhost:8020"$/m)
    assert.doesNotMatch(derived, /PASSWORD|ENCRYPTION|SECRET=/)
    const overlay = repo.read('.stackyard/proxy-ports.private.yml')
    for (const port of Object.values(PORTS)) assert.match(overlay, new RegExp(`- "\\$\\{LOCAL_BIND_ADDRESS:-127\\.0\\.0\\.1\\}:${port}:${port}"`))
    assert.doesNotMatch(overlay, /8020/, 'infisical is behind a profile that is off: no port for it')
    const caddyfile = repo.read('caddy/Caddyfile')
    assert.match(caddyfile, new RegExp(`^:${PORTS.web} \\{$`, 'm'))
    assert.match(caddyfile, /reverse_proxy web:80 \{/)
    assert.doesNotMatch(caddyfile, /infisical-backend/)
    // Compose (the fake follows its rules) saw the derived layer: the published ports and web's env came through
    const state = repo.dockerState() as { projects: Record<string, { services: Record<string, { ports: Array<{ PublishedPort: number; URL: string }> }> }> }
    assert.deepEqual(state.projects['stackyard-infra'].services.caddy.ports.map((p) => `${p.URL}:${p.PublishedPort}`), Object.values(PORTS).map((p) => `127.0.0.1:${p}`))
    assert.ok(!('ollama-gpu' in state.projects['stackyard-fixture-compute'].services), 'the gpu service stays off under the cpu profile')
    // the end: what is reachable where
    assert.match(r.stdout, /apps\/web\s+http:\/\/localhost:28103/)
    assert.match(r.stdout, /compute\/ollama\s+http:\/\/localhost:28102/)
    assert.match(r.stderr, /data: up, healthy/)
  } finally {
    repo.cleanup()
  }
})

test('up twice: the second run converges (no writes, no network creation) and re-runs the same idempotent compose ups', async () => {
  const repo = fixtureRepo()
  try {
    assert.equal((await repo.run('up.ts')).code, 0)
    const before = statSync(join(repo.root, 'caddy/Caddyfile')).mtimeMs
    const sorted = (calls: ReturnType<typeof ups>) => calls.map((c) => rel(repo, c)).sort((a, b) => a.join(' ').localeCompare(b.join(' ')))
    const first = sorted(ups(repo.dockerCalls()))
    repo.resetDocker()
    repo.write('.test-docker/state.json', JSON.stringify({ networks: ['ai-network'] }))
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /Caddyfile .*updated|network .* created/)
    assert.equal(statSync(join(repo.root, 'caddy/Caddyfile')).mtimeMs, before)
    assert.deepEqual(sorted(ups(repo.dockerCalls())), first)
    assert.ok(!repo.dockerCalls().some((c) => c.argv[0] === 'network' && c.argv[1] === 'create'))
  } finally {
    repo.cleanup()
  }
})

test('a re-run of up costs the stacks + 2 docker calls: the Compose version comes with docker info, the proxy is asked about only when something needs it', async () => {
  const repo = fixtureRepo()
  try {
    assert.equal((await repo.run('up.ts')).code, 0)
    const state = repo.dockerState()
    repo.resetDocker()
    repo.write('.test-docker/state.json', JSON.stringify(state))
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stderr)
    const calls = repo.dockerCalls()
    const stacks = ups(calls).length
    assert.ok(stacks >= 4, `${stacks} stacks started`)
    assert.deepEqual(calls.filter((c) => !ups([c]).length).map((c) => c.argv.slice(0, 2).join(' ')), ['info --format', 'network inspect'])
    assert.equal(calls.length, stacks + 2)
  } finally {
    repo.cleanup()
  }
})

test('up --dry-run prints the exact commands in order and runs nothing that changes anything', async () => {
  const repo = fixtureRepo()
  try {
    const r = await repo.run('up.ts', ['--dry-run', '--stack', 'apps'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(repo.dockerCalls().filter(isMutating).map((c) => c.argv.join(' ')), [])
    assert.ok(!repo.exists('.stackyard') && !repo.exists('caddy/Caddyfile'), 'no file written')
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('[dry-run] ')).map((l) => l.split(repo.root).join('$ROOT'))
    assert.equal(lines[0], '[dry-run] docker network create ai-network')
    assert.match(lines[1], /^\[dry-run\] write \.stackyard\/derived\.env/)
    assert.match(lines[2], /^\[dry-run\] write \.stackyard\/proxy-ports\.private\.yml/)
    assert.match(lines[3], /^\[dry-run\] write caddy\/Caddyfile/)
    const compose = lines.slice(4)
    assert.deepEqual(compose.map((l) => /--project-name (\S+)/.exec(l)![1]), ['stackyard-infra', 'stackyard-fixture-data', 'stackyard-fixture-compute', 'stackyard-fixture-apps'], '--stack apps brings its dependencies, in order')
    assert.equal(compose[3], '[dry-run] docker compose --project-name stackyard-fixture-apps --project-directory $ROOT/compose/30-apps -f $ROOT/compose/30-apps/docker-compose.yml --env-file $ROOT/.stackyard/derived.env --env-file $ROOT/.env.global --env-file $ROOT/.env up --detach --wait --wait-timeout 300')
    // --profile none: compute has only profiled services, so nothing to start there (Compose refuses an empty up)
    const none = await repo.run('up.ts', ['--dry-run', '--profile', 'none'])
    assert.equal(none.code, 0, none.stderr)
    assert.match(none.stderr, /compute: nothing to start \(every service is behind a profile that is off: cpu, gpu-nvidia\)/)
    assert.ok(!none.stdout.includes('--project-name stackyard-fixture-compute'))
    assert.match(none.stdout, /--project-name stackyard-fixture-apps/, 'its dependants still start')
  } finally {
    repo.cleanup()
  }
})

test('up --environment public: the public override, domain sites, no published ports, https URLs; the secret layer last', async () => {
  const repo = fixtureRepo()
  try {
    repo.write('.env', repo.read('.env') + 'DOMAIN=example.test\n', 0o600)
    repo.write('.env.infisical', 'SOME_SECRET="x"\n', 0o600)
    const r = await repo.run('up.ts', ['--environment', 'public', '--skip-infisical', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /▲ --skip-infisical/, 'the fallback is said, visibly')
    const calls = ups(repo.dockerCalls())
    const infra = rel(repo, calls.find((c) => project(c) === 'stackyard-infra')!)
    const apps = rel(repo, calls.find((c) => project(c) === 'stackyard-fixture-apps')!)
    assert.deepEqual(infra.slice(5, 9), ['-f', '$ROOT/compose/00-infrastructure/docker-compose.yml', '-f', '$ROOT/compose/00-infrastructure/docker-compose.override.public.yml'])
    assert.ok(!infra.some((a) => a.includes('proxy-ports')), 'no published ports in public')
    assert.ok(apps.includes('$ROOT/compose/30-apps/docker-compose.override.public.yml'))
    assert.ok(!apps.includes('$ROOT/.env.infisical'), '--skip-infisical: .env alone')
    assert.match(repo.read('.stackyard/derived.env'), /^WEB_URL="https:\/\/web\.example\.test"$/m)
    assert.match(repo.read('caddy/Caddyfile'), /^http:\/\/web\.\{\$DOMAIN\}:80 \{$/m)
    const report = JSON.parse(r.stdout)
    assert.deepEqual(report.reachable.find((x: { service: string }) => x.service === 'web'), { stack: 'apps', service: 'web', url: 'https://web.example.test', access: 'protected' })
    assert.deepEqual(report.stacks.map((s: { status: string }) => s.status), ['ok', 'ok', 'ok', 'ok'])
  } finally {
    repo.cleanup()
  }
})

test('a failing stack: exit 1 with the service, its health-check output and last log lines; its dependants are skipped', async () => {
  const repo = fixtureRepo()
  try {
    repo.write('.test-docker/state.json', JSON.stringify({ fail: { 'stackyard-fixture-data': { service: 'db', output: 'pg_isready: 127.0.0.1:5432 - no response', logs: 'LOG: starting\nFATAL: database files are incompatible with server\nDEBUG: connection string postgres://infisical:Abcdefghijklmnopqrstuvwxyz012345@db' } } }))
    const r = await repo.run('up.ts')
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /data: failed/)
    assert.match(r.stderr, /db: running, unhealthy/)
    assert.match(r.stderr, /exit 1: pg_isready: 127\.0\.0\.1:5432 - no response/)
    assert.match(r.stderr, /FATAL: database files are incompatible with server/)
    assert.match(r.stderr, /apps: not started \(data failed\)/)
    assert.match(r.stderr, /1 stack failed: data \(db unhealthy\); not started: apps/)
    assert.doesNotMatch(r.stdout + r.stderr, /Abcdefghijklmnopqrstuvwxyz012345/, 'a secret from .env echoed by a container is masked')
    const started = ups(repo.dockerCalls()).map(project)
    assert.ok(started.includes('stackyard-fixture-compute'), 'an independent stack still starts')
    assert.ok(!started.includes('stackyard-fixture-apps'))
  } finally {
    repo.cleanup()
  }
})

test('preflight failures exit 2 with the fix and start nothing', async (t) => {
  const repo = fixtureRepo()
  const expectExit2 = async (args: string[], re: RegExp, hint: RegExp, env: Record<string, string> = {}) => {
    repo.resetDocker()
    const r = await repo.run('up.ts', args, { env })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, re)
    assert.match(r.stderr, hint)
    assert.deepEqual(ups(repo.dockerCalls()), [])
  }
  try {
    await t.test('engine unreachable', async () => {
      repo.dockerRules([{ match: ['info'], exit: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' }])
      await expectExit2([], /Docker engine is not reachable/, /systemctl start docker/)
    })
    await t.test('compose too old', async () => {
      // the CLI lists the Compose plugin in docker info: that version is the one checked
      repo.dockerRules([{ match: ['info'], stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: {}, ClientInfo: { Plugins: [{ Name: 'compose', Version: 'v2.20.3' }] } }) }])
      await expectExit2([], /Compose 2\.20\.3 is too old: Stackyard needs 2\.24\.0/, /docker-compose-plugin/)
    })
    await t.test('compose v2 missing', async () => {
      // no plugin listed (an older CLI): docker compose version is asked, and fails
      repo.dockerRules([
        { match: ['info'], stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: {}, ClientInfo: { Plugins: [] } }) },
        { match: ['compose', 'version'], exit: 1, stderr: "docker: 'compose' is not a docker command." },
      ])
      await expectExit2([], /Compose v2 is not available/, /docker-compose-plugin/)
    })
    await t.test('gpu-nvidia without a driver', async () => {
      repo.dockerRules([])
      await expectExit2(['--profile', 'gpu-nvidia'], /nvidia-smi finds no NVIDIA GPU/, /--profile cpu/)
    })
    await t.test('gpu-nvidia without the nvidia runtime', async () => {
      const bin = mkdtempSync(join(tmpdir(), 'stackyard-bin-'))
      repo.write('.test-bin/nvidia-smi', '#!/bin/sh\necho "NVIDIA GeForce RTX 4090"\n', 0o755)
      symlinkSync(join(repo.root, '.test-bin/nvidia-smi'), join(bin, 'nvidia-smi'))
      await expectExit2(['--profile', 'gpu-nvidia'], /Docker has no nvidia runtime \(runtimes: runc\)/, /nvidia-ctk runtime configure/, { PATH: `${join(repo.root, 'test', 'fake-docker')}:${bin}:${process.env.PATH}` })
    })
    await t.test('a local port held by another program', async () => {
      const holder = createServer()
      await new Promise<void>((ok) => holder.listen(PORTS.web, '127.0.0.1', ok))
      try {
        await expectExit2([], new RegExp(`127\\.0\\.0\\.1:${PORTS.web} \\(apps/web, compose/30-apps/docker-compose\\.yml\\)`), /local_port/)
      } finally {
        await new Promise<void>((ok) => holder.close(() => ok()))
      }
    })
    await t.test('missing generated secrets: not generated behind your back', async () => {
      repo.write('.env', '', 0o600)
      await expectExit2([], /missing secrets: INFISICAL_ENCRYPTION_KEY, INFISICAL_AUTH_SECRET, INFISICAL_POSTGRES_PASSWORD/, /npx zx tasks\/secrets\.ts generate/)
    })
    await t.test('docker not installed', async () => {
      const bin = mkdtempSync(join(tmpdir(), 'stackyard-bin-'))
      for (const tool of ['sh', 'bash']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
      await expectExit2([], /docker is not installed/, /docs\.docker\.com\/engine\/install/, { PATH: bin })
    })
  } finally {
    repo.cleanup()
  }
})

test('a port held by our own running proxy is fine (a re-run), and a changed Caddyfile is reloaded in place', async () => {
  const repo = fixtureRepo()
  const holder = createServer()
  try {
    assert.equal((await repo.run('up.ts')).code, 0)
    // the port is now held (by "our Caddy": the fake's state says the proxy container publishes it)
    await new Promise<void>((ok) => holder.listen(PORTS.web, '127.0.0.1', ok))
    // a new route appears: the Caddyfile changes while Caddy runs (and holds the ports, as the fake's state says)
    repo.write('.env', repo.read('.env') + 'STACKYARD_PROFILES=infisical\n', 0o600)
    const state = repo.dockerState()
    repo.resetDocker()
    repo.write('.test-docker/state.json', JSON.stringify(state))
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.match(repo.read('caddy/Caddyfile'), /^:8020 \{$/m)
    const calls = repo.dockerCalls()
    const reload = calls.findIndex((c) => composeSub(c) === 'exec' && c.argv.includes('reload'))
    assert.ok(reload > 0, 'caddy reload ran')
    assert.deepEqual(calls[reload].argv.slice(-9), ['exec', '-T', 'caddy', 'caddy', 'reload', '--adapter', 'caddyfile', '--config', '/etc/caddy/Caddyfile'])
    assert.ok(reload > calls.findIndex((c) => composeSub(c) === 'up' && project(c) === 'stackyard-infra'), 'after the proxy stack is up')
  } finally {
    if (holder.listening) await new Promise<void>((ok) => holder.close(() => ok()))
    repo.cleanup()
  }
})

test('stacks whose dependencies are up start concurrently (both ups in flight at once), not one after the other', async () => {
  const repo = fixtureRepo()
  try {
    // the fake holds each of these two ups until the other one has arrived: a sequential runner would time out
    const r = await repo.run('up.ts', [], { env: { FAKE_DOCKER_BARRIER: 'stackyard-fixture-data,stackyard-fixture-compute' } })
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /barrier timeout/)
  } finally {
    repo.cleanup()
  }
})
