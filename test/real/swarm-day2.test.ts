// The real tier's day-2 operations under the swarm engine, on a single-node swarm this file makes (and leaves, when it
// made it): backup → damage → down → up → restore brings every row, key and file back (dumps run in the running
// tasks' containers, the stacks scaled to 0 for the restore); update --apply --backup of Valkey, pulled from a registry
// stand-in, to an image whose health check fails is rolled back by Swarm itself (exit 1 naming it, the old image
// running). Real engine; in order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { realTier, realRepo, docker, swarmActive } from './harness.ts'
import { build, missingImages, REGISTRY_IMAGE } from '../standins/build.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'

const INFRA = 'stackyard-infra'
const DATA = 'stackyard-data'

/** the running container of a swarm service on this node */
function taskContainer(service: string): string {
  const id = docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]).stdout.trim().split('\n')[0]
  assert.ok(id, `${service} has a running container`)
  return id
}
const psql = (db: string, sql: string) => docker(['exec', taskContainer(`${DATA}_postgres`), 'psql', '-X', '-qtA', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql])
const valkey = (...args: string[]) => docker(['exec', taskContainer(`${INFRA}_valkey`), 'valkey-cli', ...args])
const caddy = (...cmd: string[]) => docker(['exec', taskContainer(`${INFRA}_caddy`), ...cmd])
const standins = () => {
  if (missingImages().length) build()
}
const ourSecrets = () => docker(['secret', 'ls', '--filter', 'label=io.stackyard.managed=1', '--format', '{{.Name}}']).stdout.split('\n').filter(Boolean).sort()
const REGISTRY = 'stackyard-swarm-registry'
/** `docker build` with the legacy builder (offline) of a one-file Dockerfile; the image id */
function buildImage(tag: string, dockerfile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-swarm-update-'))
  try {
    writeFileSync(join(dir, 'Dockerfile'), dockerfile)
    const r = docker(['build', '-q', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' } })
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const replicas = (service: string) => docker(['service', 'ls', '--filter', `name=${service}`, '--format', '{{.Replicas}}']).stdout.trim()

if (realTier('swarm day 2')) {
  const repo = realRepo()
  let initialised = false
  let gwbridge = false
  const leave = () => {
    if (initialised && swarmActive()) docker(['swarm', 'leave', '--force'])
    if (initialised && !gwbridge) docker(['network', 'rm', 'docker_gwbridge'])
    initialised = false
  }
  let prefix = ''
  const built: string[] = []
  test.after(() => {
    docker(['rm', '-f', '-v', REGISTRY])
    if (prefix) for (const ref of docker(['image', 'ls', '--digests', '--format', '{{.Repository}}:{{.Tag}}\t{{.Repository}}@{{.Digest}}']).stdout.split('\n').filter((l) => l.startsWith(prefix)).flatMap((l) => l.split('\t')).filter((r) => !r.endsWith('<none>'))) docker(['image', 'rm', ref])
    for (const id of built) docker(['image', 'rm', '-f', id])
    repo.cleanup()
    leave()
  })

  test('0. a single-node swarm (made here unless the engine is already a manager); infrastructure and data deployed', async () => {
    if (!swarmActive()) {
      gwbridge = docker(['network', 'inspect', 'docker_gwbridge']).code === 0
      const r = docker(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
      assert.equal(r.code, 0, r.stderr)
      initialised = true
    }
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    repo.write('.env', repo.read('.env') + 'STACKYARD_STACKS=infrastructure,data\nSTACKYARD_ENGINE=swarm\n', 0o600)
    standins()
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })

  test('1. backup → damage → down → up → restore: the rows, the Valkey keys and the file in Caddy\'s volume are back', async () => {
    for (const sql of ['CREATE TABLE items (id int PRIMARY KEY, name text)', "INSERT INTO items VALUES (1, 'first'), (2, 'second')", 'ALTER TABLE items OWNER TO n8n'])
      assert.equal(psql('n8n', sql).code, 0, sql)
    assert.equal(valkey('SET', 'greeting', 'hello').stdout.trim(), 'OK')
    assert.equal(caddy('sh', '-c', 'echo kept > /data/stackyard-swarm.txt').code, 0)

    const b = await repo.run('backup.ts', ['--json'])
    assert.equal(b.code, 0, b.stdout + b.stderr)
    const { archive, manifest } = JSON.parse(b.stdout) as { archive: string; manifest: { entries: Array<{ stack: string; service: string; kind: string; database?: string; image: string }> } }
    const kinds = manifest.entries.map((e) => `${e.stack}/${e.service} ${e.kind}${e.database ? ` ${e.database}` : ''}`)
    for (const k of ['data/postgres database n8n', 'data/postgres globals', 'infrastructure/valkey snapshot', 'infrastructure/caddy volume']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`)
    assert.equal(manifest.entries.find((e) => e.service === 'postgres')!.image, 'pgvector/pgvector:0.8.6-pg16', 'the running task\'s image')

    // the damage the restore must undo
    assert.equal(psql('n8n', 'DROP TABLE items').code, 0)
    assert.equal(valkey('DEL', 'greeting').stdout.trim(), '1')
    assert.equal(caddy('rm', '/data/stackyard-swarm.txt').code, 0)
    assert.equal((await repo.run('down.ts')).code, 0)
    const up = await repo.run('up.ts')
    assert.equal(up.code, 0, up.stdout + up.stderr)

    const r = await repo.run('restore.ts', [archive, '--yes'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stderr, /data: scaling postgres to 0/)
    assert.match(r.stderr, /infrastructure: scaling .*valkey.* to 0/)
    assert.equal(psql('n8n', 'SELECT string_agg(name, \',\' ORDER BY id) FROM items').stdout.trim(), 'first,second', 'the rows')
    assert.equal(psql('n8n', "SELECT tableowner FROM pg_tables WHERE tablename = 'items'").stdout.trim(), 'n8n', 'the owner')
    assert.equal(valkey('GET', 'greeting').stdout.trim(), 'hello', 'the Valkey key')
    assert.equal(caddy('cat', '/data/stackyard-swarm.txt').stdout.trim(), 'kept', 'the file in Caddy\'s volume')
    for (const s of [`${DATA}_postgres`, `${INFRA}_valkey`, `${INFRA}_caddy`]) assert.equal(replicas(s), '1/1', `${s} is back`)
    // the app role still logs in with its secret: the restore kept the roles' passwords where they are declared
    const values = parseDotenv(repo.read('.env'))
    const login = docker(['run', '--rm', '--network', 'ai-network', '--entrypoint', 'psql', '-e', 'PGPASSWORD', 'pgvector/pgvector:0.8.6-pg16', '-h', 'postgres', '-U', 'n8n', '-d', 'n8n', '-tAc', 'select count(*) from items'], { env: { PGPASSWORD: values.N8N_DB_PASSWORD } })
    assert.equal(login.stdout.trim(), '2', login.stderr)
    assert.ok(ourSecrets().length > 0)
  })

  test('2. update --apply --backup to an image whose health check fails: Swarm rolls it back by itself; exit 1 names it, the old image runs', async () => {
    docker(['rm', '-f', '-v', REGISTRY])
    assert.equal(docker(['run', '-d', '--name', REGISTRY, '-p', '127.0.0.1::5000', REGISTRY_IMAGE]).code, 0)
    const port = Number(docker(['port', REGISTRY, '5000/tcp']).stdout.trim().split('\n')[0].split(':').pop())
    prefix = `127.0.0.1:${port}/stackyard-swarm/`
    const ref = `${prefix}valkey:8`
    // every image of the stack from the registry (update pulls them all)
    const caddyRef = `${prefix}caddy:2`
    for (const [from, to] of [['valkey/valkey:8.1.4-alpine', ref], ['caddy:2.10.2-alpine', caddyRef]]) {
      assert.equal(docker(['tag', from, to]).code, 0)
      let pushed = docker(['push', to])
      for (let i = 0; i < 30 && pushed.code !== 0; i++) (await new Promise((r) => setTimeout(r, 1000)), (pushed = docker(['push', to])))
      assert.equal(pushed.code, 0, pushed.stderr)
    }
    // a short health-check interval: the failing image turns unhealthy in seconds
    repo.write('compose/00-infrastructure/docker-compose.override.private.yml', `services:\n  caddy:\n    image: ${caddyRef}\n  valkey:\n    image: ${ref}\n    healthcheck:\n      interval: 2s\n      start_period: 0s\n      retries: 3\n`)
    const up = await repo.run('up.ts', ['--stack', 'infrastructure'])
    assert.equal(up.code, 0, up.stdout + up.stderr)
    const spec = () => docker(['service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${INFRA}_valkey`]).stdout.trim()
    assert.match(spec(), /^127\.0\.0\.1:\d+\/stackyard-swarm\/valkey:8@sha256:[0-9a-f]{64}$/, 'deployed pinned to its registry digest')
    const runningImage = () => docker(['inspect', '--format', '{{.Image}}', taskContainer(`${INFRA}_valkey`)]).stdout.trim()
    const before = runningImage()
    assert.equal(valkey('SET', 'kept', 'yes').stdout.trim(), 'OK')

    // the same tag in the registry: a server that never answers, so valkey-cli ping (the health check) fails
    built.push(buildImage(ref, [`FROM ${ref}`, 'LABEL org.stackyard.test="health check fails"', `RUN printf '#!/bin/sh\\ntrap "exit 0" TERM INT; while :; do sleep 1; done\\n' > /usr/local/bin/docker-entrypoint.sh`, ''].join('\n')))
    assert.equal(docker(['push', ref]).code, 0)
    assert.equal(docker(['tag', before, ref]).code, 0, 'the local tag back on the running image: update must pull the new one')

    const r = await repo.run('update.ts', ['--apply', '--backup', '--stack', 'infrastructure', '--timeout', '240'])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stdout, /infrastructure\/valkey .* changed/, r.stderr)
    assert.match(r.stderr, /backing up infrastructure before recreating/)
    assert.match(r.stderr, /infrastructure\/valkey \(\w{12}\) did not become healthy: Swarm rolled it back by itself to the image that ran before \(\w{12}\), which is healthy again/)
    assert.equal(runningImage(), before, 'the old image runs again')
    assert.equal(docker(['inspect', '--format', '{{.State.Health.Status}}', taskContainer(`${INFRA}_valkey`)]).stdout.trim(), 'healthy')
    assert.equal(replicas(`${INFRA}_valkey`), '1/1')
    const history = JSON.parse(repo.read('.stackyard/image-history.json')).entries
    assert.deepEqual(history.at(-1).autoRollback.services, ['infrastructure/valkey'])
    // up afterwards changes nothing: the tag names the image that runs
    const again = await repo.run('up.ts', ['--stack', 'infrastructure'])
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.match(again.stderr, /infrastructure: deployed as derived, nothing to change/)
  })
}
