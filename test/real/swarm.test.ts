// The real tier under the swarm engine, on a single-node swarm this file makes (and leaves, when it made it): up of
// the infrastructure and data stacks with the stand-in images, every service healthy, the database password read from
// /run/secrets, no secret in `docker service inspect`, the Caddyfile and the init script as Docker configs, a second
// up that changes nothing, status, health, logs and doctor --live in the tasks' containers, a route added (the proxy rolls to a new Caddyfile config, the old one goes, the
// route answers through the proxy), a changed secret, a secret rotated in place (secrets --rotate), an update whose health check fails rolling back by itself, and
// down removing exactly what it made. Real engine; one scenario after another.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { realTier, realRepo, docker, swarmActive, BIND } from './harness.ts'
import { build, missingImages } from '../standins/build.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'

const INFRA = 'stackyard-infra'
const DATA = 'stackyard-data'
const SERVICES = [`${DATA}_postgres`, `${INFRA}_caddy`, `${INFRA}_valkey`]
const FOREIGN = 'stackyard-swarm-test-foreign'

/** the running container of a swarm service on this node */
function taskContainer(service: string): string {
  const id = docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]).stdout.trim().split('\n')[0]
  assert.ok(id, `${service} has a running container`)
  return id
}
/** each service's UpdatedAt and running task ids: what a second up must leave alone */
const snapshot = () => SERVICES.map((s) => `${s} ${docker(['service', 'inspect', '--format', '{{.UpdatedAt}}', s]).stdout.trim()} ${docker(['service', 'ps', '-q', '--filter', 'desired-state=running', s]).stdout.trim()}`)
/**
 * The postgres stand-in of this checkout reads POSTGRES_PASSWORD_FILE; a checkout without that change re-tags the image
 * when its own run starts (before it waits for the real-tier lock): rebuilt here right before a task is created.
 */
const standins = () => {
  if (missingImages().length) build()
}
const ourSecrets = () => docker(['secret', 'ls', '--filter', 'label=io.stackyard.managed=1', '--format', '{{.Name}}']).stdout.split('\n').filter(Boolean).sort()
const ourConfigs = () => docker(['config', 'ls', '--filter', 'label=io.stackyard.managed=1', '--format', '{{.Name}}']).stdout.split('\n').filter(Boolean).sort()
/** the Docker config a service mounts at `target` */
const mountedConfig = (service: string, target: string) =>
  (JSON.parse(docker(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Configs}}', service]).stdout) as Array<{ ConfigName: string; File: { Name: string } }>).find((c) => c.File.Name === target)?.ConfigName
/** a GET on this machine's bind address, through the proxy's published port */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: BIND, port, path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')))
    req.end()
  })
}

if (realTier('swarm')) {
  const repo = realRepo()
  let initialised = false
  let gwbridge = false
  const leave = () => {
    if (initialised && swarmActive()) docker(['swarm', 'leave', '--force'])
    // swarm init makes docker_gwbridge and leave keeps it: the engine is left as it was found
    if (initialised && !gwbridge) docker(['network', 'rm', 'docker_gwbridge'])
    initialised = false
  }
  test.after(() => {
    repo.cleanup()
    leave()
  })

  test('0. a single-node swarm (made here unless the engine is already a manager); setup offers the engine on a manager and --engine swarm writes it, with the secrets', async () => {
    if (!swarmActive()) {
      gwbridge = docker(['network', 'inspect', 'docker_gwbridge']).code === 0
      const r = docker(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
      assert.equal(r.code, 0, r.stderr)
      initialised = true
    }
    // no terminal, no --yes: the missing answers are listed, the engine among them (this engine is a swarm manager)
    const asked = await repo.run('setup.ts', ['--no-start'])
    assert.equal(asked.code, 2, asked.stdout + asked.stderr)
    assert.match(asked.stderr, /--engine compose\|swarm/)
    const s = await repo.run('setup.ts', ['--yes', '--no-start', '--engine', 'swarm', '--stacks', 'infrastructure,data'])
    assert.equal(s.code, 0, s.stdout + s.stderr)
    assert.match(s.stdout + s.stderr, /engine\s+swarm/)
    const env = parseDotenv(repo.read('.env'))
    assert.deepEqual([env.STACKYARD_ENGINE, env.STACKYARD_STACKS], ['swarm', 'infrastructure,data'])
    assert.match(env.POSTGRES_PASSWORD, /.{16,}/, 'the secrets generated')
    // something of the engine's that is not ours: down must leave it
    assert.equal(docker(['secret', 'create', FOREIGN, '-'], { input: 'not ours' }).code, 0)
  })

  test('1. up --dry-run prints the derived stack files (secrets as /run/secrets files, no value) and changes nothing', async () => {
    const r = await repo.run('up.ts', ['--dry-run'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /# stackyard-data: the stack file docker stack deploy would read/)
    assert.match(r.stdout, /POSTGRES_PASSWORD_FILE: \/run\/secrets\/POSTGRES_PASSWORD/)
    assert.match(r.stdout, /\[dry-run\] docker stack deploy --prune --resolve-image never --compose-file - stackyard-data/)
    assert.match(r.stdout, /order: stop-first/)
    assert.match(r.stdout, /failure_action: rollback/)
    const env = parseDotenv(repo.read('.env'))
    assert.ok(!r.stdout.includes(env.POSTGRES_PASSWORD), 'no secret value printed')
    assert.match(r.stdout, /configs:\n\s+- source: stackyard-infra_Caddyfile_[0-9a-f]{12}\n\s+target: \/etc\/caddy\/Caddyfile/, 'the Caddyfile as a config')
    assert.match(r.stdout, /target: \/docker-entrypoint-initdb.d\/10-app-databases.sh\n\s+mode: 365/, 'the init script as an executable config')
    assert.match(r.stdout, /\[dry-run\] docker config create --label io.stackyard.managed=1 --label io.stackyard.stack=stackyard-infra stackyard-infra_Caddyfile_[0-9a-f]{12} -/)
    assert.equal(docker(['service', 'ls', '-q']).stdout.trim(), '', 'no service created')
    assert.deepEqual(ourSecrets(), [], 'no secret created')
    assert.deepEqual(ourConfigs(), [], 'no config created')
  })

  test('2. up deploys infrastructure then data; every service runs its replica healthy', async () => {
    standins()
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stderr, /infrastructure: running, healthy \(2 services/)
    assert.match(r.stderr, /data: running, healthy \(1 service/)
    assert.ok(r.stderr.indexOf('infrastructure: deploying') < r.stderr.indexOf('data: deploying'), 'dependency order')
    for (const s of SERVICES) {
      assert.equal(docker(['service', 'ls', '--filter', `name=${s}`, '--format', '{{.Replicas}}']).stdout.trim(), '1/1', s)
      assert.equal(docker(['inspect', '--format', '{{.State.Health.Status}}', taskContainer(s)]).stdout.trim(), 'healthy', s)
    }
    assert.equal(docker(['network', 'inspect', '--format', '{{.Driver}} {{.Attachable}}', 'ai-network']).stdout.trim(), 'overlay true')
    assert.equal(ourSecrets().length, 4, 'POSTGRES_PASSWORD and three app passwords')
    assert.ok(ourSecrets().every((n) => /^stackyard-data_[A-Z0-9_]+_[0-9a-f]{12}$/.test(n)), ourSecrets().join(' '))
    // the checkout's files the services mount read-only arrive as configs: the Caddyfile (and the add-ons folder's
    // README), the databases' init script; the proxy serves with that Caddyfile (its health check is an HTTP request)
    const configs = ourConfigs()
    assert.ok(configs.some((n) => /^stackyard-infra_Caddyfile_[0-9a-f]{12}$/.test(n)), configs.join(' '))
    assert.ok(configs.some((n) => /^stackyard-data_app-databases\.sh_[0-9a-f]{12}$/.test(n)), configs.join(' '))
    assert.equal(mountedConfig(`${INFRA}_caddy`, '/etc/caddy/Caddyfile'), configs.find((n) => n.includes('_Caddyfile_')))
    assert.equal(docker(['exec', taskContainer(`${INFRA}_caddy`), 'cat', '/etc/caddy/Caddyfile']).stdout, repo.read('caddy/Caddyfile'))
    assert.equal(docker(['exec', taskContainer(`${DATA}_postgres`), 'stat', '-c', '%a', '/docker-entrypoint-initdb.d/10-app-databases.sh']).stdout.trim(), '555')
    assert.deepEqual(docker(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}', `${INFRA}_caddy`]).stdout.match(/"Type":"bind"/g), null, 'no bind mount of the checkout left')
  })

  test('3. postgres reads its password from /run/secrets, not its environment; an app role logs in over TCP with its secret', () => {
    const c = taskContainer(`${DATA}_postgres`)
    const env = docker(['exec', c, 'env']).stdout.split('\n')
    assert.ok(env.includes('POSTGRES_PASSWORD_FILE=/run/secrets/POSTGRES_PASSWORD'))
    assert.ok(!env.some((l) => l.startsWith('POSTGRES_PASSWORD=') || l.startsWith('N8N_DB_PASSWORD=')), 'no password in the environment')
    const values = parseDotenv(repo.read('.env'))
    assert.ok(docker(['exec', c, 'cat', '/run/secrets/POSTGRES_PASSWORD']).stdout === values.POSTGRES_PASSWORD, 'the secret holds .env\'s value')
    // from another container on the shared overlay (inside the container 127.0.0.1 is trusted, as in the official image)
    const login = (password: string) => docker(['run', '--rm', '--network', 'ai-network', '--entrypoint', 'psql', '-e', 'PGPASSWORD', 'pgvector/pgvector:0.8.6-pg16', '-h', 'postgres', '-U', 'n8n', '-d', 'n8n', '-tAc', 'select current_user'], { env: { PGPASSWORD: password } })
    const ok = login(docker(['exec', c, 'cat', '/run/secrets/N8N_DB_PASSWORD']).stdout)
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout.trim(), 'n8n')
    assert.notEqual(login(values.FLOWISE_DB_PASSWORD).code, 0, 'another app\'s password is refused')
    const inspect = docker(['service', 'inspect', ...SERVICES]).stdout
    for (const [k, v] of Object.entries(values)) if (/PASSWORD|KEY|SECRET/.test(k) && v.length >= 8) assert.ok(!inspect.includes(v), `${k} is not in docker service inspect`)
  })

  test('4. a second up deploys nothing: same UpdatedAt, same tasks; status shows every service running', async () => {
    const before = snapshot()
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stderr, /infrastructure: deployed as derived, nothing to change/)
    assert.doesNotMatch(r.stderr, /deploying/)
    assert.deepEqual(snapshot(), before)
    const st = await repo.run('status.ts', ['--json'])
    assert.equal(st.code, 0, st.stdout + st.stderr)
    const rows = (JSON.parse(st.stdout).services as Array<{ stack: string; service: string; state: string; enabled: boolean }>).filter((x) => x.enabled)
    assert.deepEqual(rows.map((x) => `${x.stack}/${x.service} ${x.state}`).sort(), ['data/postgres running 1/1', 'infrastructure/caddy running 1/1', 'infrastructure/valkey running 1/1'])
  })

  test('4a. health, logs and doctor --live under swarm: probes and live checks in the running tasks\' containers; a password changed behind Stackyard\'s back is named', async () => {
    const h = await repo.run('health.ts', ['--json'])
    assert.equal(h.code, 0, h.stdout + h.stderr)
    const checks = (JSON.parse(h.stdout).checks as Array<{ check: string; target: string; ok: boolean; detail: string }>).map((c) => `${c.check} ${c.target} ${c.ok}`)
    for (const c of ['docker health data/postgres true', 'docker health infrastructure/caddy true', 'docker health infrastructure/valkey true', 'postgres ready data/postgres true', 'valkey ping infrastructure/valkey true', 'proxy config valid infrastructure/caddy true', 'live secrets doctor --live true'])
      assert.ok(checks.includes(c), `${c}: ${checks.join('; ')}`)
    const pgHealth = (JSON.parse(h.stdout).checks as Array<{ check: string; target: string; detail: string }>).find((c) => c.check === 'docker health' && c.target === 'data/postgres')!
    assert.equal(pgHealth.detail, 'healthy', 'the task container\'s Docker health')
    const logs = await repo.run('logs.ts', ['--stack', 'data', '--tail', '50'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.match(logs.stdout + logs.stderr, /stackyard-data_postgres\.1\.\w+@.*\| .*database system is ready to accept connections/)
    assert.doesNotMatch(logs.stdout + logs.stderr, /\x1b\[/, 'no terminal control sequences')
    const live = (out: string) => JSON.parse(out).checks.find((c: { id: string }) => c.id === 'live-secrets')
    const ok = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.match(live(ok.stdout).summary, /^4 secrets accepted by the running services; 3 others not checked \(service not running\)$/)
    const pg = taskContainer(`${DATA}_postgres`)
    const alter = (sql: string) => docker(['exec', pg, 'sh', '-c', `psql -X -q -U postgres -v pw="$(cat /run/secrets/N8N_DB_PASSWORD)" <<'SQL'\n${sql}\nSQL`])
    assert.equal(alter("ALTER ROLE n8n PASSWORD 'changed behind its back';").code, 0)
    try {
      const bad = await repo.run('doctor.ts', ['--live', '--json'])
      assert.equal(bad.code, 1, bad.stdout + bad.stderr)
      assert.deepEqual(live(bad.stdout).findings.map((x: { message: string }) => x.message), ['N8N_DB_PASSWORD does not open role n8n on data/postgres: the database holds another password'])
      assert.doesNotMatch(bad.stdout + bad.stderr, new RegExp(parseDotenv(repo.read('.env')).N8N_DB_PASSWORD), 'the password is never printed')
    } finally {
      assert.equal(alter("ALTER ROLE n8n PASSWORD :'pw';").code, 0)
    }
    assert.equal((await repo.run('doctor.ts', ['--live'])).code, 0)
  })

  test('4b. a route added (the compute stack selected): the proxy rolls to a new Caddyfile config, the old one is removed, the route answers through the proxy', async () => {
    const old = ourConfigs().find((n) => n.includes('_Caddyfile_'))!
    standins()
    repo.write('.env', repo.read('.env').replace(/^STACKYARD_STACKS=.*$/m, 'STACKYARD_STACKS=infrastructure,data,compute'), 0o600)
    assert.match(repo.read('.env'), /^STACKYARD_STACKS=infrastructure,data,compute$/m)
    const r = await repo.run('up.ts', ['--stack', 'infrastructure,compute'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const now = mountedConfig(`${INFRA}_caddy`, '/etc/caddy/Caddyfile')!
    assert.notEqual(now, old, 'a new config for the changed Caddyfile')
    assert.match(repo.read('caddy/Caddyfile'), /ollama/)
    assert.ok(!ourConfigs().includes(old), `the old config ${old} is gone: ${ourConfigs().join(' ')}`)
    assert.match(r.stderr, new RegExp(`old config ${old} removed`))
    assert.equal(docker(['exec', taskContainer(`${INFRA}_caddy`), 'cat', '/etc/caddy/Caddyfile']).stdout, repo.read('caddy/Caddyfile'))
    const ok = await get(8200, '/api/tags')
    assert.equal(ok.status, 200, ok.body)
    assert.match(ok.body, /"models"/)
  })

  test('5. a changed app password: a new secret, postgres updated to it, the old secret removed', async () => {
    const old = ourSecrets().find((n) => n.includes('_N8N_DB_PASSWORD_'))!
    standins()
    repo.write('.env', repo.read('.env').replace(/^N8N_DB_PASSWORD=.*$/m, 'N8N_DB_PASSWORD=rotated-n8n-password-0123456789'), 0o600)
    const r = await repo.run('up.ts', ['--stack', 'data'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const now = ourSecrets()
    assert.ok(!now.includes(old), 'the old secret is gone')
    assert.equal(now.filter((n) => n.includes('_N8N_DB_PASSWORD_')).length, 1)
    assert.equal(docker(['exec', taskContainer(`${DATA}_postgres`), 'cat', '/run/secrets/N8N_DB_PASSWORD']).stdout, 'rotated-n8n-password-0123456789')
  })

  test('5a. secrets --rotate under swarm: the role\'s password changed in the running task, a new Docker secret, postgres rolled to it, the old secret gone, the new password logs in and the old does not', async () => {
    const old = ourSecrets().find((n) => n.includes('_FLOWISE_DB_PASSWORD_'))!
    const before = parseDotenv(repo.read('.env')).FLOWISE_DB_PASSWORD
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'FLOWISE_DB_PASSWORD', '--timeout', '180'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /ALTER ROLE flowise PASSWORD … in data\/postgres/)
    assert.match(r.stderr, /live check: /)
    const after = parseDotenv(repo.read('.env')).FLOWISE_DB_PASSWORD
    assert.notEqual(after, before)
    assert.ok(!(r.stdout + r.stderr).includes(after) && !(r.stdout + r.stderr).includes(before), 'neither value printed')
    const now = ourSecrets()
    assert.ok(!now.includes(old), 'the old secret is gone')
    assert.equal(now.filter((n) => n.includes('_FLOWISE_DB_PASSWORD_')).length, 1)
    assert.equal(docker(['exec', taskContainer(`${DATA}_postgres`), 'cat', '/run/secrets/FLOWISE_DB_PASSWORD']).stdout, after)
    const login = (password: string) => docker(['run', '--rm', '--network', 'ai-network', '--entrypoint', 'psql', '-e', 'PGPASSWORD', 'pgvector/pgvector:0.8.6-pg16', '-h', 'postgres', '-U', 'flowise', '-d', 'flowise', '-tAc', 'select current_user'], { env: { PGPASSWORD: password } })
    const ok = login(after)
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout.trim(), 'flowise')
    assert.notEqual(login(before).code, 0, 'the old password is refused')
  })

  test('5b. an update whose health check fails rolls back by itself: up exits 1 naming it, the old valkey keeps serving; reverting converges', async () => {
    const file = 'compose/00-infrastructure/docker-compose.yml'
    const original = repo.read(file)
    const broken = original.replace('test: ["CMD", "valkey-cli", "-h", "127.0.0.1", "ping"]\n      interval: 5s\n      timeout: 3s\n      retries: 10', 'test: ["CMD", "false"]\n      interval: 1s\n      timeout: 1s\n      retries: 2')
    assert.notEqual(broken, original, 'the valkey health check was found')
    const label = () => docker(['service', 'inspect', '--format', '{{index .Spec.Labels "io.stackyard.spec"}}', `${INFRA}_valkey`]).stdout.trim()
    const before = label()
    repo.write(file, broken)
    try {
      const r = await repo.run('up.ts', ['--stack', 'infrastructure', '--timeout', '180'])
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /an update rolled back: valkey: .*rollback_completed/)
      assert.equal(label(), before, 'the previous spec runs again')
      assert.equal(docker(['inspect', '--format', '{{.State.Health.Status}}', taskContainer(`${INFRA}_valkey`)]).stdout.trim(), 'healthy')
    } finally {
      repo.write(file, original)
    }
    const again = await repo.run('up.ts', ['--stack', 'infrastructure'])
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.match(again.stderr, /infrastructure: deployed as derived, nothing to change/)
  })

  test('6. down removes the stacks, their secrets and the shared overlay, and nothing else (volumes and a foreign secret stay)', async () => {
    const r = await repo.run('down.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(docker(['service', 'ls', '-q']).stdout.trim(), '')
    assert.deepEqual(ourSecrets(), [])
    assert.deepEqual(ourConfigs(), [], 'the configs went with their stacks')
    assert.notEqual(docker(['network', 'inspect', 'ai-network']).code, 0, 'ai-network removed')
    assert.equal(docker(['secret', 'inspect', FOREIGN]).code, 0, 'a secret not ours stays')
    assert.equal(docker(['volume', 'inspect', 'stackyard-postgres-data']).code, 0, 'the data stays')
    docker(['secret', 'rm', FOREIGN])
    const again = await repo.run('down.ts')
    assert.equal(again.code, 0, again.stderr)
    leave()
  })
}
