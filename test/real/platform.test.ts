// The real tier, one platform from a fresh clone to down: setup, a converging second setup and up, status, health
// and logs, Caddy on the published ports, the per-app databases over TCP, update without a registry, compose config
// of every stack, down in its three forms. Real engine, stand-in images (test/standins), one scenario after another.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { readdirSync, readFileSync, statSync, existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { realTier, realRepo, docker, containers, BIND } from './harness.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'
import type { TempRepo } from '../helpers/repo.ts'

const STACKS = ['--stacks', 'infrastructure,data,compute']
const INFRA = 'stackyard-infra'
const DATA = 'stackyard-data'
const COMPUTE = 'stackyard-compute'

/** every file of the copy that Stackyard writes, with its bytes and mode */
function written(repo: TempRepo): Map<string, string> {
  const m = new Map<string, string>()
  const add = (rel: string) => {
    const abs = join(repo.root, rel)
    if (!existsSync(abs)) return
    const st = statSync(abs)
    if (st.isDirectory()) for (const n of readdirSync(abs)) add(join(rel, n))
    else m.set(rel, `${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${readFileSync(abs, 'base64')}`)
  }
  for (const rel of ['.env', '.env.bak', '.env.infisical', '.stackyard', 'caddy']) add(rel)
  return m
}

const snapshotContainers = () => new Map([INFRA, DATA, COMPUTE].flatMap((p) => [...containers(p)].map(([svc, c]) => [`${p}/${svc}`, `${c.id} ${c.started}`] as const)))

function http(port: number, o: { path?: string; method?: string; headers?: Record<string, string | number>; body?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: o.host ?? BIND, port, path: o.path ?? '/', method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')))
    if (o.body) req.write(o.body)
    req.end()
  })
}

/** a request from a throwaway container on the shared network (what another service sees) */
function fromNetwork(url: string): { code: number; out: string } {
  const r = docker(['run', '--rm', '--network', 'ai-network', 'debian:13.4-slim', 'busybox', 'wget', '-S', '-O', '-', url])
  return { code: r.code, out: r.stdout + r.stderr }
}

if (realTier('platform')) {
  const repo = realRepo()
  test.after(() => repo.cleanup())

  test('8. before the first up: docker compose config of every stack and override, fed exactly Stackyard\'s env layers (compose.ts), is clean', async () => {
    const fresh = realRepo()
    try {
      assert.equal((await fresh.run('secrets.ts', ['generate'])).code, 0)
      for (const stack of ['infrastructure', 'data', 'compute', 'apps', 'ops']) {
        for (const environment of ['private', 'public']) {
          const r = await fresh.run('compose.ts', [stack, '--environment', environment, '--', 'config', '--quiet'], { env: { DOMAIN: 'example.com' } })
          assert.equal(r.code, 0, `${stack} (${environment}): ${r.stdout}${r.stderr}`)
        }
      }
      assert.ok(!fresh.exists('.stackyard/derived.env'), 'no derived env file was needed')
      // a committed default that refers to a derived URL reads the same in env.ts and in Compose before the first up
      fresh.write('.env.global', fresh.read('.env.global') + 'TZ=tz-${OLLAMA_URL}\n')
      const shown = JSON.parse((await fresh.run('env.ts', ['--json'])).stdout).keys.find((k: { key: string }) => k.key === 'TZ').value
      assert.match(shown, /^tz-http:\/\/.*:8200$/)
      const config = await fresh.run('compose.ts', ['compute', '--', 'config', '--format', 'json'])
      assert.equal(config.code, 0, config.stderr)
      assert.equal(JSON.parse(config.stdout).services['ollama-cpu'].environment.TZ, shown, 'Compose sees what env.ts shows')
    } finally {
      fresh.cleanup()
    }
  })

  test('1. setup --yes from a fresh clone: .env, ai-network, every stack healthy', async () => {
    const r = await repo.run('setup.ts', ['--yes', ...STACKS])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(statSync(join(repo.root, '.env')).mode & 0o777, 0o600)
    assert.equal(docker(['network', 'inspect', 'ai-network']).code, 0, 'ai-network exists')
    for (const [project, services] of [[INFRA, ['caddy', 'valkey']], [DATA, ['postgres']], [COMPUTE, ['ollama-cpu']]] as const) {
      const c = containers(project)
      for (const s of services) {
        assert.equal(c.get(s)?.state, 'running', `${project}/${s} runs`)
        assert.equal(c.get(s)?.health, 'healthy', `${project}/${s} is healthy`)
      }
    }
    assert.match(r.stdout, new RegExp(`compute/ollama-cpu\\s+http://${BIND.replace(/\./g, '\\.')}:8200`))
    // the Compose the env engine models from now on: the one this engine's CLI runs (read from docker info)
    const compose = docker(['compose', 'version', '--short']).stdout.trim()
    assert.equal(repo.read('.stackyard/compose-version').trim(), /\d+\.\d+\.\d+/.exec(compose)![0])
  })

  test('1b. a second setup --yes and a second up recreate no container and change no file', async () => {
    const files = written(repo)
    const before = snapshotContainers()
    const again = await repo.run('setup.ts', ['--yes', ...STACKS])
    assert.equal(again.code, 0, again.stdout + again.stderr)
    const up = await repo.run('up.ts')
    assert.equal(up.code, 0, up.stdout + up.stderr)
    assert.deepEqual(snapshotContainers(), before, 'no container was recreated or restarted')
    assert.deepEqual(written(repo), files, 'no file was written')
  })

  test('2. status, status --json, health and logs tell the true state; a stopped container makes them exit 1 naming it', async () => {
    const st = await repo.run('status.ts')
    assert.equal(st.code, 0, st.stdout + st.stderr)
    assert.match(st.stdout, /infrastructure\s+valkey\s+running\s+healthy/)
    assert.match(st.stdout, /apps\s+n8n\s+off \(not selected\)/, 'a stack left out by STACKYARD_STACKS says so')
    const json = await repo.run('status.ts', ['--json'])
    assert.equal(json.code, 0, json.stderr)
    const rows = JSON.parse(json.stdout).services as Array<{ stack: string; service: string; state: string; health: string; enabled: boolean }>
    assert.deepEqual(rows.filter((x) => x.enabled).map((x) => `${x.stack}/${x.service} ${x.state} ${x.health}`).sort(), [
      'compute/ollama-cpu running healthy', 'data/postgres running healthy', 'infrastructure/caddy running healthy', 'infrastructure/valkey running healthy',
    ])
    const health = await repo.run('health.ts')
    assert.equal(health.code, 0, health.stdout + health.stderr)
    const logs = await repo.run('logs.ts', ['--stack', 'data', '--tail', '20'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.match(logs.stdout + logs.stderr, /database system is ready to accept connections/)
    assert.doesNotMatch(logs.stdout + logs.stderr, /\x1b\[2K|\x1b\[\d*[ABGK]/, 'no terminal control sequences in logs')

    const valkey = containers(INFRA).get('valkey')!
    assert.equal(docker(['stop', valkey.id]).code, 0)
    try {
      const down = await repo.run('status.ts')
      assert.equal(down.code, 1, down.stdout + down.stderr)
      assert.match(down.stdout + down.stderr, /valkey/)
      assert.match(down.stdout, /valkey\s+exited/)
      const sick = await repo.run('health.ts')
      assert.equal(sick.code, 1, sick.stdout + sick.stderr)
      assert.match(sick.stdout + sick.stderr, /valkey/)
    } finally {
      const up = await repo.run('up.ts', ['--stack', 'infrastructure'])
      assert.equal(up.code, 0, up.stdout + up.stderr)
    }
    assert.equal((await repo.run('status.ts')).code, 0)
  })

  test('3. Caddy: a route answers, the 404 fallback, 413 over the body limit, the security headers', async () => {
    const ok = await http(8200, { path: '/api/tags' })
    assert.equal(ok.status, 200)
    assert.match(ok.body, /"models"/)
    assert.equal(ok.headers['x-content-type-options'], 'nosniff')
    assert.equal(ok.headers['x-frame-options'], 'SAMEORIGIN')
    assert.equal(ok.headers['referrer-policy'], 'strict-origin-when-cross-origin')
    assert.equal(ok.headers['strict-transport-security'], undefined, 'no HSTS on plain-HTTP local ports')
    // the ollama route's limit is 100MB: a declared length over it is refused before the upstream sees anything
    const big = await http(8200, { path: '/api/generate', method: 'POST', headers: { 'content-length': 100 * 1024 * 1024 + 1, 'content-type': 'application/json' }, body: '{}' }).catch((e: Error) => ({ status: -1, headers: {}, body: e.message }))
    assert.equal(big.status, 413, big.body)
    const fallback = fromNetwork('http://caddy:80/anything')
    assert.match(fallback.out, /404/, fallback.out)
    const healthz = fromNetwork('http://caddy:80/health')
    assert.equal(healthz.code, 0, healthz.out)
  })

  test('3b. caddy.ts validate and reload in the container; a bad add-on is refused while the old config keeps serving', async () => {
    const v = await repo.run('00-infrastructure/caddy.ts', ['validate'])
    assert.equal(v.code, 0, v.stdout + v.stderr)
    assert.match(v.stderr, /caddy container: valid/)
    const rl = await repo.run('00-infrastructure/caddy.ts', ['reload'])
    assert.equal(rl.code, 0, rl.stdout + rl.stderr)
    repo.write('caddy/addons/broken.caddy', ':9999 {\n  this_is_not_a_directive\n}\n')
    try {
      const bad = await repo.run('00-infrastructure/caddy.ts', ['reload'])
      assert.equal(bad.code, 1, bad.stdout + bad.stderr)
      assert.match(bad.stderr, /previous config stays active/)
      assert.equal((await http(8200, { path: '/api/tags' })).status, 200, 'the old config still serves')
    } finally {
      rmSync(join(repo.root, 'caddy/addons/broken.caddy'))
    }
    // the public environment's Caddyfile, rendered from the same routes, validates in the container too
    const pub = await repo.run('00-infrastructure/caddy.ts', ['render', '--print', '--environment', 'public'], { env: { DOMAIN: 'example.com' } })
    assert.equal(pub.code, 0, pub.stderr)
    repo.write('caddy/public-check.Caddyfile', pub.stdout)
    try {
      const caddy = containers(INFRA).get('caddy')!
      const inContainer = docker(['exec', '-e', 'DOMAIN=example.com', caddy.id, 'caddy', 'validate', '--adapter', 'caddyfile', '--config', '/etc/caddy/public-check.Caddyfile'])
      assert.equal(inContainer.code, 0, inContainer.stderr)
    } finally {
      rmSync(join(repo.root, 'caddy/public-check.Caddyfile'))
    }
  })

  test('a route\'s new local port is published by up of its own stack; the table and the port agree', async () => {
    const file = 'compose/02-compute/docker-compose.yml'
    const original = repo.read(file)
    repo.write(file, original.replace('local_port: 8200', 'local_port: 8209'))
    try {
      const r = await repo.run('up.ts', ['--stack', 'compute'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stdout, new RegExp(`compute/ollama-cpu\\s+http://${BIND.replace(/\./g, '\\.')}:8209`))
      assert.equal((await http(8209, { path: '/api/tags' })).status, 200, 'the new port answers')
      await assert.rejects(http(8200, { path: '/api/tags' }), /ECONNREFUSED/, 'the old port is closed')
    } finally {
      repo.write(file, original)
    }
    const back = await repo.run('up.ts', ['--stack', 'compute'])
    assert.equal(back.code, 0, back.stdout + back.stderr)
    assert.equal((await http(8200, { path: '/api/tags' })).status, 200)
  })

  test('up --stack of a stack this installation does not run: exit 2, says how to select it, starts nothing', async () => {
    const before = snapshotContainers()
    const r = await repo.run('up.ts', ['--stack', 'apps'])
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /apps is not selected: STACKYARD_STACKS=infrastructure,data,compute/)
    assert.match(r.stderr, /setup\.ts --stacks infrastructure,data,compute,apps/)
    assert.equal(containers('stackyard-apps').size, 0)
    assert.deepEqual(snapshotContainers(), before)
  })

  test('.env.infisical without Infisical configured is no layer for any task: env, up and the container agree', async () => {
    repo.write('.env.infisical', 'TZ="America/New_York"\n', 0o600)
    try {
      const env = await repo.run('env.ts', ['--json'])
      assert.equal(env.code, 0, env.stderr)
      const tz = (JSON.parse(env.stdout).keys as Array<{ key: string; value: string; source: string }>).find((e) => e.key === 'TZ')
      assert.equal(tz?.value, 'Etc/UTC', JSON.stringify(tz))
      const up = await repo.run('up.ts', ['--stack', 'data'])
      assert.equal(up.code, 0, up.stdout + up.stderr)
      const pg = containers(DATA).get('postgres')!
      const inside = docker(['exec', pg.id, 'printenv', 'TZ'])
      assert.equal(inside.stdout.trim(), 'Etc/UTC')
      const st = await repo.run('status.ts')
      assert.equal(st.code, 0, st.stdout + st.stderr)
      const again = await repo.run('up.ts', ['--stack', 'data'])
      assert.equal(again.code, 0)
      assert.equal(containers(DATA).get('postgres')!.id, pg.id, 'nothing recreated: every task sees the same layers')
    } finally {
      rmSync(join(repo.root, '.env.infisical'))
    }
  })

  test('4. databases.ts: each app role logs in with its password over TCP (and a wrong one does not)', async () => {
    const r = await repo.run('01-data/databases.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const env = parseDotenv(repo.read('.env'))
    const login = (user: string, password: string) =>
      docker(['run', '--rm', '--network', 'ai-network', '-e', 'PGPASSWORD', 'pgvector/pgvector:0.8.6-pg16', 'psql', '-h', 'postgres', '-U', user, '-d', user, '-tAc', 'select current_user'], { env: { PGPASSWORD: password } })
    for (const app of ['n8n', 'openwebui', 'flowise']) {
      const ok = login(app, env[`${app.toUpperCase()}_DB_PASSWORD`])
      assert.equal(ok.code, 0, `${app}: ${ok.stderr}`)
      assert.equal(ok.stdout.trim(), app)
    }
    const wrong = login('n8n', 'not-the-password')
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /password authentication failed/)
  })

  test('doctor --live: every role accepts its password; a password changed behind Stackyard\'s back is named (exit 1), and databases.ts --passwords mends it', async () => {
    const ok = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    const live = (out: string) => JSON.parse(out).checks.find((c: { id: string }) => c.id === 'live-secrets')
    // the four PostgreSQL roles of the data stack; Infisical's database password, Infisical's encryption key and n8n's encryption key are declared too, but their services are not in the real tier
    assert.match(live(ok.stdout).summary, /^4 secrets accepted by the running services; 3 others not checked \(service not running\)$/)
    const changed = docker(['exec', containers(DATA).get('postgres')!.id, 'psql', '-X', '-qtA', '-U', 'postgres', '-c', "ALTER ROLE n8n PASSWORD 'changed behind its back'"])
    assert.equal(changed.code, 0, changed.stderr)
    const bad = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(bad.code, 1, bad.stdout + bad.stderr)
    const f = live(bad.stdout).findings
    assert.deepEqual(f.map((x: { message: string }) => x.message), ['N8N_DB_PASSWORD does not open role n8n on data/postgres: the database holds another password'])
    assert.match(f[0].fix, /databases\.ts --passwords/)
    assert.doesNotMatch(bad.stdout + bad.stderr, new RegExp(parseDotenv(repo.read('.env')).N8N_DB_PASSWORD), 'the password is never printed')
    assert.equal((await repo.run('01-data/databases.ts', ['--passwords'])).code, 0)
    assert.equal((await repo.run('doctor.ts', ['--live'])).code, 0)
  })

  test('6. update without a registry fails cleanly: exit 1, the daemon\'s reason, nothing restarted', async () => {
    const before = snapshotContainers()
    const r = await repo.run('update.ts', ['--stack', 'data'])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /pgvector|pull/i)
    assert.match(r.stderr, /(dial|lookup|connect|resolve|registry|timeout|no such host|server misbehaving)/i, 'the daemon\'s reason is shown')
    assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /)
    assert.deepEqual(snapshotContainers(), before)
  })

  test('7. down --stack X stops X only; down stops everything and keeps the data; down --volumes --yes removes it', async () => {
    const d1 = await repo.run('down.ts', ['--stack', 'compute'])
    assert.equal(d1.code, 0, d1.stdout + d1.stderr)
    assert.equal(containers(COMPUTE).size, 0, 'compute is gone')
    assert.equal(containers(DATA).get('postgres')?.state, 'running', 'data keeps running')
    assert.equal(containers(INFRA).get('caddy')?.state, 'running', 'infrastructure keeps running')
    const d2 = await repo.run('down.ts')
    assert.equal(d2.code, 0, d2.stdout + d2.stderr)
    for (const p of [INFRA, DATA, COMPUTE]) assert.equal(containers(p).size, 0, `${p} has no container left`)
    const vols = docker(['volume', 'ls', '-q']).stdout.split('\n')
    for (const v of ['stackyard-postgres-data', 'stackyard-valkey-data', 'stackyard-caddy-data']) assert.ok(vols.includes(v), `${v} is kept`)
    const d3 = await repo.run('down.ts', ['--volumes', '--yes'])
    assert.equal(d3.code, 0, d3.stdout + d3.stderr)
    const left = docker(['volume', 'ls', '-q']).stdout.split('\n')
    for (const v of ['stackyard-postgres-data', 'stackyard-valkey-data', 'stackyard-caddy-data', 'stackyard-ollama-data']) assert.ok(!left.includes(v), `${v} is removed`)
  })
}
