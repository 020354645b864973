// Remote hosts: `--context NAME` reaches every docker call of every task that talks to Docker (the fake docker logs
// the global flag and keeps one engine per context); a host runs the stacks assigned to it; status and health report
// across STACKYARD_CONTEXTS, an unreachable host included.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { tempRepo, REPO, type DockerCall, type TempRepo } from './helpers/repo.ts'
import { composeSub, project, resetCalls } from './stack-fixtures.ts'

const EDGE = 'edge-1'
const ENV = { FAKE_DOCKER_CONTEXTS: `${EDGE},edge-2` }

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []))
}

/** Runs a task against the edge context; every docker call it made must carry `--context edge-1` first. */
async function onEdge(repo: TempRepo, task: string, args: string[] = [], expect = 0, env: Record<string, string> = {}): Promise<DockerCall[]> {
  resetCalls(repo)
  const r = await repo.run(task, [...args, '--context', EDGE], { env: { ...ENV, ...env } })
  assert.equal(r.code, expect, `${task} ${args.join(' ')}: ${r.stderr}`)
  const calls = repo.dockerCalls()
  assert.ok(calls.length > 0, `${task} made no docker call`)
  for (const c of calls) assert.deepEqual(c.argv.slice(0, 2), ['--context', EDGE], `${task}: docker ${c.argv.join(' ')}`)
  return calls
}

type Engine = { projects: Record<string, { services: Record<string, { state: string; health: string }> }> }
/** one engine's state (the fake docker keeps a file per context; none yet: an engine nothing ran on) */
const engine = (repo: TempRepo, context?: string): Engine => {
  const file = join(repo.root, '.test-docker', context ? `state.${context}.json` : 'state.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Engine) : { projects: {} }
}

test('every task that talks to Docker declares it (docker: true), so --context is accepted and shown in its help', async () => {
  const dockerLibs = /lib\/(docker\/(platform|preflight)|infisical\/reset|backup\/(backup|restore)|stacks\/(app-databases|ollama-models|up|down|status|health|multi-host|secret-rotation|live-secrets)|caddy\/proxy|update\/update)\.ts|lib\/setup\//
  const repo = tempRepo()
  try {
    for (const file of walk(join(REPO, 'tasks'))) {
      const text = readFileSync(file, 'utf8')
      const rel = relative(join(REPO, 'tasks'), file)
      const talks = dockerLibs.test(text) || text.includes(`'docker'`)
      assert.equal(/^\s*docker: true,$/m.test(text), talks, `${rel}: ${talks ? 'talks to Docker without' : 'declares'} docker: true`)
      if (!talks) continue
      const help = await repo.run(rel, ['--help'])
      assert.match(help.stdout, /--context NAME\s+Docker context to run against/, rel)
    }
  } finally {
    repo.cleanup()
  }
})

test('--context reaches every docker call of up, status, health, secrets --rotate, logs, update, caddy, databases, models, backup, restore, infisical reset and down; the local engine is never touched', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    repo.write('.env', repo.read('.env') + 'STACKYARD_PROFILES=infisical\n', 0o600)
    const upCalls = await onEdge(repo, 'up.ts')
    assert.ok(upCalls.some((c) => composeSub(c) === 'up' && project(c) === 'stackyard-apps'))
    assert.ok(Object.keys(engine(repo, EDGE).projects).length >= 4, 'the stacks run on the edge engine')
    await onEdge(repo, 'status.ts')
    await onEdge(repo, 'health.ts')
    const rotate = await onEdge(repo, 'secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'])
    assert.ok(rotate.some((c) => c.argv.some((a) => a.includes('ALTER ROLE'))) && rotate.some((c) => composeSub(c) === 'up'), 'the rotation ran on the edge engine')
    await onEdge(repo, 'logs.ts', ['--stack', 'infrastructure', 'caddy'])
    await onEdge(repo, 'update.ts')
    await onEdge(repo, 'update.ts', ['--apply'])
    await onEdge(repo, '00-infrastructure/caddy.ts', ['reload'])
    repo.dockerRules([
      { match: ['printenv', 'APP_DATABASES'], stdout: 'n8n openwebui flowise' },
      { match: ['pg_roles'], stdout: ['n8n', 'openwebui', 'flowise'].flatMap((a) => [`db ${a}`, `role ${a}`]).join('\n') },
    ])
    await onEdge(repo, '01-data/databases.ts')
    repo.dockerRules([])
    await onEdge(repo, '02-compute/models.ts', ['list'])
    const backup = await onEdge(repo, 'backup.ts', ['--include-secrets'])
    assert.ok(backup.some((c) => c.argv.includes('pg_dump')) && backup.some((c) => c.argv[2] === 'run'))
    const archive = readdirSync(join(repo.root, 'backups')).find((f) => f.startsWith(`stackyard-backup-${EDGE}-`))
    assert.ok(archive, 'the archive name says which host it came from')
    const restore = await onEdge(repo, 'restore.ts', [join(repo.root, 'backups', archive), '--yes'])
    assert.ok(restore.some((c) => c.stdinBytes > 0 && c.argv.includes('psql')), 'the dumps went back to the edge engine')
    await onEdge(repo, '00-infrastructure/infisical/reset.ts', ['--infra', '--yes'])
    await onEdge(repo, 'down.ts')
    assert.deepEqual(engine(repo).projects, {}, 'nothing ran on the local engine')
  } finally {
    repo.cleanup()
  }
})

test('a host runs the stacks assigned to it; the proxy host keeps the Caddyfile; bind mounts are named; status and health report across STACKYARD_CONTEXTS', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    // this machine runs the infrastructure (proxy) with Dozzle; edge-1 the data stack and, of the ops tools, Watchtower
    repo.write('.env', repo.read('.env') + `STACKYARD_STACKS=infrastructure\nSTACKYARD_PROFILES=dozzle\nSTACKYARD_CONTEXTS=default,${EDGE}\nSTACKYARD_HOST_EDGE_1_STACKS=data,ops\nSTACKYARD_HOST_EDGE_1_PROFILES=watchtower\n`, 0o600)
    const local = await repo.run('up.ts', [], { env: ENV })
    assert.equal(local.code, 0, local.stderr)
    const caddyfile = repo.read('caddy/Caddyfile')
    const calls = await onEdge(repo, 'up.ts')
    assert.deepEqual(calls.filter((c) => composeSub(c) === 'up').map(project).sort(), ['stackyard-data', 'stackyard-ops'], 'only the assigned stacks start there')
    const opsUp = calls.find((c) => composeSub(c) === 'up' && project(c) === 'stackyard-ops')!
    assert.deepEqual(opsUp.argv.filter((_, i) => opsUp.argv[i - 1] === '--profile'), ['watchtower'], 'with the profiles of that host')
    assert.equal(repo.read('caddy/Caddyfile'), caddyfile, 'the proxy host owns the Caddyfile')
    const r = await repo.run('up.ts', ['--context', EDGE, '--dry-run'], { env: ENV })
    assert.match(r.stderr, /caddy\/Caddyfile left as it is: the proxy does not run on context edge-1/)
    assert.match(r.stderr, /data\/postgres: bind mount \.\/postgres\/app-databases\.sh → \/docker-entrypoint-initdb\.d\/10-app-databases\.sh is resolved on the host of context edge-1: .*compose\/01-data\/postgres\/app-databases\.sh must exist there/)
    assert.deepEqual(Object.keys(engine(repo).projects), ['stackyard-infra'])
    assert.deepEqual(Object.keys(engine(repo, EDGE).projects).sort(), ['stackyard-data', 'stackyard-ops'])
    assert.deepEqual(Object.keys(engine(repo, EDGE).projects['stackyard-ops'].services).sort(), ['docker-proxy-watchtower', 'watchtower'])

    const status = await repo.run('status.ts', ['--all-contexts', '--json'], { env: ENV })
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout) as { ok: boolean; contexts: Array<{ context: string; ok: boolean; services: Array<{ stack: string; service: string; ok: boolean }> }> }
    assert.deepEqual(report.contexts.map((c) => [c.context, c.ok, [...new Set(c.services.map((s) => s.stack))]]), [['default', true, ['infrastructure']], [EDGE, true, ['data', 'ops']]])
    const health = await repo.run('health.ts', ['--all-contexts'], { env: ENV })
    assert.equal(health.code, 0, health.stderr)
    assert.match(health.stdout, /ok\s+edge-1\s+postgres ready\s+data\/postgres/)
    assert.match(health.stdout, /ok\s+default\s+proxy config valid\s+infrastructure\/caddy/)

    // a failing host fails the report, the others are still shown; a host that cannot be reached is a FAIL row
    const state = engine(repo, EDGE)
    state.projects['stackyard-data'].services.postgres.health = 'unhealthy'
    repo.write(`.test-docker/state.${EDGE}.json`, JSON.stringify(state))
    repo.write('.env', repo.read('.env').replace(`STACKYARD_CONTEXTS=default,${EDGE}`, `STACKYARD_CONTEXTS=default,${EDGE},edge-3`), 0o600)
    const bad = await repo.run('status.ts', ['--all-contexts'], { env: ENV })
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /default\s+infrastructure\s+caddy\s+running\s+healthy/)
    assert.match(bad.stdout, /edge-1\s+data\s+postgres\s+running\s+unhealthy.*FAIL/)
    assert.match(bad.stdout, /edge-3\s+—\s+—\s+unreachable\s+the Docker engine is not reachable/)
    const both = await repo.run('status.ts', ['--all-contexts', '--context', EDGE], { env: ENV })
    assert.equal(both.code, 2)
    assert.match(both.stderr, /--all-contexts and --context exclude each other/)
  } finally {
    repo.cleanup()
  }
})

test('--context with a name Docker does not know: exit 2 naming the engine problem; an invalid name is a usage error', async () => {
  const repo = tempRepo()
  try {
    const r = await repo.run('status.ts', ['--context', 'nowhere'], { env: ENV })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /the Docker engine is not reachable: .*context "nowhere": context not found/)
    const bad = await repo.run('status.ts', ['--context', '-x;rm'], { env: ENV })
    assert.equal(bad.code, 2)
  } finally {
    repo.cleanup()
  }
})
