// The real tier: update --apply pulling from a real registry (the registry stand-in, Debian's docker-registry,
// published on 127.0.0.1, which the engine reaches over plain HTTP) with the data and compute stacks' images pointed
// at it by compose overrides in the temporary copy. An update of the stateful PostgreSQL without a fresh backup is
// refused and recreates nothing; --backup takes one and applies. An update whose new Ollama image fails its health
// check comes back on the old digest by itself (exit 1), recorded in the history. Removes the registry container
// (its storage with it) and every image reference it pushed or pulled.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { realTier, realRepo, docker, containers, cleanEngine } from './harness.ts'
import { REGISTRY_IMAGE } from '../standins/build.ts'

const REGISTRY = 'stackyard-real-registry'
const DATA = 'stackyard-data'
const COMPUTE = 'stackyard-compute'

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v2/' }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.setTimeout(2000, () => req.destroy())
    req.end()
  })
}

/** `docker build` with the legacy builder (offline) of a one-file Dockerfile */
function build(tag: string, dockerfile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-real-update-'))
  try {
    writeFileSync(join(dir, 'Dockerfile'), dockerfile)
    const r = docker(['build', '-q', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' } })
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function push(ref: string): void {
  const r = docker(['push', ref])
  assert.equal(r.code, 0, r.stderr)
}

const imageOf = (project: string, service: string) => {
  const c = containers(project).get(service)
  assert.ok(c, `${project}/${service} has a container`)
  return { ...c, image: docker(['inspect', '--format', '{{.Image}}', c.id]).stdout.trim() }
}
const digestsOf = (id: string) => docker(['image', 'inspect', '--format', '{{join .RepoDigests " "}}', id]).stdout.trim().split(' ').filter(Boolean)

if (realTier('update')) {
  const repo = realRepo()
  let prefix = ''
  const built: string[] = []
  test.after(() => {
    cleanEngine()
    docker(['rm', '-f', '-v', REGISTRY])
    // every reference to the registry's repositories (tags and digests); the images we built, by id. The stand-ins
    // the pushed images were tagged from keep their own tags, so nothing of theirs goes.
    if (prefix) {
      const rows = docker(['image', 'ls', '--digests', '--format', '{{.Repository}}\t{{.Tag}}\t{{.Digest}}']).stdout.split('\n').filter((l) => l.startsWith(prefix))
      for (const row of rows) {
        const [repository, tag, digest] = row.split('\t')
        if (tag && tag !== '<none>') docker(['image', 'rm', `${repository}:${tag}`])
        if (digest && digest !== '<none>') docker(['image', 'rm', `${repository}@${digest}`])
      }
    }
    for (const id of built) docker(['image', 'rm', '-f', id])
    repo.cleanup()
  })

  test('a registry on 127.0.0.1 holds the images; the data and compute stacks run from it', async () => {
    docker(['rm', '-f', '-v', REGISTRY])
    const run = docker(['run', '-d', '--name', REGISTRY, '-p', '127.0.0.1::5000', REGISTRY_IMAGE])
    assert.equal(run.code, 0, run.stderr)
    const port = Number(docker(['port', REGISTRY, '5000/tcp']).stdout.trim().split('\n')[0].split(':').pop())
    assert.ok(port > 0, 'published')
    for (let i = 0; i < 60 && !(await answers(port)); i++) await new Promise((r) => setTimeout(r, 500))
    assert.ok(await answers(port), 'the registry answers /v2/')
    prefix = `127.0.0.1:${port}/stackyard-real/`
    for (const [from, to] of [['pgvector/pgvector:0.8.6-pg16', 'postgres:16'], ['ollama/ollama:0.32.6', 'ollama:0.32']]) {
      assert.equal(docker(['tag', from, prefix + to]).code, 0)
      push(prefix + to)
    }
    repo.write('compose/01-data/docker-compose.override.private.yml', `services:\n  postgres:\n    image: ${prefix}postgres:16\n`)
    // a short health-check interval: the failing image turns unhealthy in seconds instead of a minute
    repo.write('compose/02-compute/docker-compose.override.private.yml', `services:\n  ollama-cpu:\n    image: ${prefix}ollama:0.32\n    healthcheck:\n      interval: 2s\n      start_period: 0s\n      retries: 3\n`)
    const r = await repo.run('setup.ts', ['--yes', '--stacks', 'data,compute'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(imageOf(DATA, 'postgres').health, 'healthy')
    assert.equal(imageOf(COMPUTE, 'ollama-cpu').health, 'healthy')
  })

  test('an update without a fresh backup is refused: exit 1, nothing recreated; --backup takes one, then applies', async () => {
    const before = imageOf(DATA, 'postgres')
    // a newer image under the same tag in the registry, and only there (the local tag goes: update must pull it)
    const newer = build(`${prefix}postgres:16`, `FROM ${prefix}postgres:16\nLABEL org.stackyard.test="a newer build"\n`)
    built.push(newer)
    push(`${prefix}postgres:16`)
    assert.equal(docker(['image', 'rm', `${prefix}postgres:16`]).code, 0)

    const refused = await repo.run('update.ts', ['--apply', '--stack', 'data'])
    assert.equal(refused.code, 1, refused.stdout + refused.stderr)
    assert.match(refused.stdout, /data\/postgres .* changed/)
    assert.match(refused.stderr, /update --apply refused: 1 stateful service about to be recreated has no backup younger than 24h; nothing was recreated/)
    assert.match(refused.stderr, /data\/postgres: no backup/)
    assert.match(refused.stderr, /--backup/)
    const still = imageOf(DATA, 'postgres')
    assert.deepEqual([still.id, still.started, still.image], [before.id, before.started, before.image], 'the same container, untouched')
    assert.ok(!repo.exists('.stackyard/image-history.json'), 'no apply recorded')

    const applied = await repo.run('update.ts', ['--apply', '--stack', 'data', '--backup'])
    assert.equal(applied.code, 0, applied.stdout + applied.stderr)
    const archives = readdirSync(join(repo.root, 'backups')).filter((f) => f.includes('data'))
    assert.equal(archives.length, 1, 'one archive of the data stack')
    const journal = JSON.parse(repo.read('.stackyard/backups.json'))
    assert.deepEqual(journal.entries.map((e: { archive: string; services: Array<{ stack: string; service: string }> }) => [e.archive, e.services.map((s) => `${s.stack}/${s.service}`)]), [[archives[0], ['data/postgres']]])
    const after = imageOf(DATA, 'postgres')
    assert.equal(after.image, newer, 'the new image runs')
    assert.equal(after.health, 'healthy')
  })

  test('an update whose new image fails its health check comes back on the old digest by itself (exit 1)', async () => {
    const before = imageOf(COMPUTE, 'ollama-cpu')
    const oldDigests = digestsOf(before.image)
    assert.ok(oldDigests.some((d) => d.startsWith(`${prefix}ollama@sha256:`)), `pulled from the registry: ${oldDigests.join(', ')}`)
    // same service, same tag: a server that never answers, so `ollama list` (the health check) fails
    const broken = build(`${prefix}ollama:0.32`, [
      `FROM ${prefix}ollama:0.32`,
      'LABEL org.stackyard.test="health check fails"',
      `RUN printf '#!/bin/sh\\ncase "\${1:-serve}" in serve) trap "exit 0" TERM INT; while :; do sleep 1; done ;; *) exit 1 ;; esac\\n' > /usr/local/bin/ollama && chmod +x /usr/local/bin/ollama`,
      '',
    ].join('\n'))
    built.push(broken)
    push(`${prefix}ollama:0.32`)
    assert.equal(docker(['image', 'rm', `${prefix}ollama:0.32`]).code, 0)

    const r = await repo.run('update.ts', ['--apply', '--stack', 'compute', '--timeout', '120'])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stdout, /compute\/ollama-cpu .* changed/)
    assert.match(r.stderr, /compute\/ollama-cpu: returning to the image that ran before/)
    assert.match(r.stderr, /compute\/ollama-cpu \(\w{12}\) did not become healthy: rolled back automatically to the image that ran before, which is healthy again/)
    const after = imageOf(COMPUTE, 'ollama-cpu')
    assert.notEqual(after.id, before.id, 'recreated')
    assert.equal(after.image, before.image, 'the old image runs again')
    assert.deepEqual(digestsOf(after.image), oldDigests, 'on the old digest')
    assert.equal(after.health, 'healthy')
    assert.equal(docker(['image', 'inspect', '--format', '{{.Id}}', `${prefix}ollama:0.32`]).stdout.trim(), before.image, 'the tag points at the old image again')
    const entry = JSON.parse(repo.read('.stackyard/image-history.json')).entries.at(-1)
    assert.deepEqual([entry.applied, entry.rolledBack, entry.autoRollback.services, entry.autoRollback.healthy], [false, true, ['compute/ollama-cpu'], true])
    assert.equal(entry.services[0].to.id, broken)
  })
}
