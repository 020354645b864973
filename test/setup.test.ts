// The setup wizard end to end, without a terminal, in a temporary copy of the repository with the fake docker:
// defaults, convergence, missing answers, --dry-run, --no-start, no Docker, the answers file, a failure and the re-run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { loadRegistry } from '../lib/model/registry.ts'
import { checkSecret } from '../lib/model/secrets.ts'
import { setupRepo } from './setup-helpers.ts'
import type { TempRepo } from './helpers/repo.ts'
import { composeSub, isMutating, project, resetCalls } from './stack-fixtures.ts'

const PROJECTS = ['stackyard-apps', 'stackyard-compute', 'stackyard-data', 'stackyard-infra']
const mode = (repo: TempRepo, path: string) => statSync(join(repo.root, path)).mode & 0o777
const ups = (repo: TempRepo) => repo.dockerCalls().filter((c) => composeSub(c) === 'up')
const profilesOf = (argv: string[]) => argv.flatMap((a, i) => (argv[i - 1] === '--profile' ? [a] : []))

test('private defaults (--yes, no terminal): a complete .env (every declared secret, in its format, mode 0600), the stacks started in order; a second run changes nothing', async () => {
  const repo = setupRepo()
  try {
    const r = await repo.run('setup.ts', ['--yes'])
    assert.equal(r.code, 0, r.stderr)
    const env = parseDotenv(repo.read('.env'))
    assert.equal(mode(repo, '.env'), 0o600)
    assert.deepEqual([env.STACKYARD_ENVIRONMENT, env.STACKYARD_PROFILE, env.STACKYARD_STACKS, env.STACKYARD_PROFILES], ['private', 'cpu', '', ''])
    const registry = loadRegistry(repo.root)
    for (const d of registry.secrets.values()) {
      if (d.spec.format === 'external') continue
      assert.equal(checkSecret(d.spec, env[d.key], env), undefined, `${d.key} present and in its format`)
      assert.ok(!r.stdout.includes(env[d.key]) && !r.stderr.includes(env[d.key]), `${d.key} never printed`)
    }
    assert.match(r.stdout, /Review \(nothing has been written yet\)/)
    assert.match(r.stdout, /\+\s+N8N_ENCRYPTION_KEY\s+•••• \(64 chars\)\s+generated \(hex, 32 bytes\)/)
    const first = ups(repo)
    assert.deepEqual(first.map(project).sort(), PROJECTS)
    assert.equal(project(first[3]), 'stackyard-apps', 'apps after data and compute')
    assert.deepEqual(profilesOf(first.find((c) => project(c) === 'stackyard-compute')!.argv), ['cpu'])
    assert.deepEqual(profilesOf(first.find((c) => project(c) === 'stackyard-infra')!.argv), [], 'no tunnel, no Infisical')
    assert.match(r.stdout, /apps\/n8n\s+http:\/\/localhost:8300/)
    assert.match(r.stderr, /npx zx tasks\/status\.ts/)

    const before = repo.read('.env')
    resetCalls(repo)
    const again = await repo.run('setup.ts', ['--yes'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(repo.read('.env'), before, 'byte for byte')
    assert.ok(!repo.exists('.env.bak'), 'nothing written, so no backup either')
    const generated = [...registry.secrets.values()].filter((d) => d.spec.format !== 'external').length
    assert.match(again.stdout, new RegExp(`\\.env \\(mode 0600\\)\\n\\s+nothing to change\\n\\s+${generated} declared secrets kept`))
    const mutating = repo.dockerCalls().filter(isMutating)
    assert.deepEqual(mutating.map((c) => composeSub(c)), ['up', 'up', 'up', 'up'], "only up's own convergence")
    const noFlags = await repo.run('setup.ts', [])
    assert.equal(noFlags.code, 0, `a configured installation needs no flags: ${noFlags.stderr}`)
    assert.equal(repo.read('.env'), before)
  } finally {
    repo.cleanup()
  }
})

test('without a terminal, missing answers are listed at once with their flags (exit 2) and nothing is written or started', async () => {
  const repo = setupRepo()
  try {
    const r = await repo.run('setup.ts', [])
    assert.equal(r.code, 2, r.stderr)
    for (const flag of ['--environment private|public', '--stacks all|NAME,…', '--profile cpu|gpu-nvidia|gpu-amd|none', '--infisical none|bundled|external']) assert.ok(r.stderr.includes(flag), flag)
    assert.match(r.stderr, /setup needs 4 answers and there is no terminal to ask/)
    const pub = await repo.run('setup.ts', ['--environment', 'public', '--stacks', 'all', '--profile', 'cpu', '--infisical', 'none'])
    assert.equal(pub.code, 2)
    assert.match(pub.stderr, /setup needs 2 answers/)
    assert.ok(pub.stderr.includes('--domain DOMAIN') && pub.stderr.includes('--cloudflare none|tunnel-token|api-token'))
    const api = await repo.run('setup.ts', ['--environment', 'public', '--domain', 'example.com', '--cloudflare', 'api-token', '--yes'], { env: { CLOUDFLARE_API_TOKEN: undefined } })
    assert.equal(api.code, 2)
    assert.ok(api.stderr.includes('CLOUDFLARE_API_TOKEN in the environment, or --secrets-stdin') && api.stderr.includes('--access-emails EMAILS'))
    const bad = await repo.run('setup.ts', ['--domain', 'https://example.com/'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--domain: "https:\/\/example\.com\/": the bare domain only/)
    assert.ok(!repo.exists('.env'))
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])
  } finally {
    repo.cleanup()
  }
})

test('--engine swarm: the review says so, .env gets STACKYARD_ENGINE=swarm, and the start on an engine that is no swarm manager stops with how to make one', async () => {
  const repo = setupRepo()
  try {
    const r = await repo.run('setup.ts', ['--yes', '--engine', 'swarm'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stdout, /engine\s+swarm \(this swarm deploys the stacks\)/)
    assert.equal(parseDotenv(repo.read('.env')).STACKYARD_ENGINE, 'swarm')
    assert.match(r.stderr, /the engine is not part of a swarm/)
    assert.match(r.stderr, /docker swarm init .*then run npx zx tasks\/setup\.ts again/)
    assert.ok(!repo.dockerCalls().some((c) => composeSub(c) === 'up'), 'nothing started the compose way')
  } finally {
    repo.cleanup()
  }
})

test('--dry-run shows the review and writes nothing; --no-start writes the configuration and starts nothing', async () => {
  const repo = setupRepo()
  try {
    const dry = await repo.run('setup.ts', ['--yes', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /Review/)
    assert.match(dry.stdout, /\[dry-run\] write \.env \(mode 0600\): \+STACKYARD_ENVIRONMENT/)
    assert.match(dry.stdout, /\[dry-run\] start the stacks/)
    assert.ok(!repo.exists('.env') && !repo.exists('.stackyard') && !repo.exists('caddy/Caddyfile'))
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])

    const r = await repo.run('setup.ts', ['--yes', '--no-start', '--stacks', 'data', '--profile', 'none'])
    assert.equal(r.code, 0, r.stderr)
    const env = parseDotenv(repo.read('.env'))
    assert.deepEqual([env.STACKYARD_STACKS, env.STACKYARD_PROFILE], ['infrastructure,data', 'none'])
    assert.match(r.stdout, /start the stacks: infrastructure, data .*not now \(--no-start\)/)
    assert.deepEqual(ups(repo), [], 'no compose up')
    assert.match(r.stderr, /start it: npx zx tasks\/setup\.ts/)
  } finally {
    repo.cleanup()
  }
})

test('no Docker: the configuration is still written in full, then how to install Docker and the command to run next (exit 0)', async () => {
  const repo = setupRepo()
  try {
    repo.dockerRules([{ match: ['info'], exit: 127, stderr: 'docker: command not found' }])
    const r = await repo.run('setup.ts', ['--yes'])
    assert.equal(r.code, 0, r.stderr)
    const env = parseDotenv(repo.read('.env'))
    assert.ok(env.N8N_ENCRYPTION_KEY && env.INFISICAL_ENCRYPTION_KEY && env.STACKYARD_ENVIRONMENT === 'private')
    assert.match(r.stderr, /docker is not installed/)
    assert.match(r.stderr, /https:\/\/docs\.docker\.com\/engine\/install\//)
    assert.match(r.stderr, /then start everything: npx zx tasks\/setup\.ts/)
    assert.deepEqual(ups(repo), [])
  } finally {
    repo.cleanup()
  }
})

test('--answers FILE: answers from YAML (warned when others can read its secrets); a bad field is exit 2 naming the file, line and field', async () => {
  const repo = setupRepo()
  try {
    repo.write('setup.yml', 'environment: private\nstacks: [data]\nprofile: cpu\ninfisical: none\n')
    const r = await repo.run('setup.ts', ['--answers', 'setup.yml', '--no-start'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(parseDotenv(repo.read('.env')).STACKYARD_STACKS, 'infrastructure,data')
    const before = repo.read('.env')
    repo.write('bad.yml', 'environment: private\nprofile: gpu\n')
    const bad = await repo.run('setup.ts', ['--answers', 'bad.yml'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /bad\.yml:2: profile: Invalid option/)
    writeFileSync(join(repo.root, 'open.yml'), 'secrets:\n  SOME_TOKEN: abc\n', { mode: 0o644 })
    const open = await repo.run('setup.ts', ['--answers', 'open.yml', '--no-start'])
    assert.equal(open.code, 0, open.stderr)
    assert.match(open.stderr, /open\.yml holds secrets and other users can read it \(mode 0644\): chmod 600 open\.yml/)
    assert.equal(repo.read('.env'), before)
  } finally {
    repo.cleanup()
  }
})

test('a stack that fails to start: exit 1 saying how to resume; the re-run asks nothing, keeps .env and finishes', async () => {
  const repo = setupRepo()
  try {
    repo.write('.test-docker/state.json', JSON.stringify({ fail: { 'stackyard-apps': { service: 'n8n', output: 'connection refused' } } }))
    const r = await repo.run('setup.ts', ['--yes'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /1 stack failed: apps \(n8n unhealthy\)/)
    assert.match(r.stderr, /then run npx zx tasks\/setup\.ts again: it keeps the configuration it wrote/)
    const env = repo.read('.env')
    const state = repo.dockerState() as { fail: Record<string, unknown> }
    state.fail = {}
    repo.write('.test-docker/state.json', JSON.stringify(state))
    resetCalls(repo)
    const again = await repo.run('setup.ts', [])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(repo.read('.env'), env)
    assert.ok(ups(repo).some((c) => project(c) === 'stackyard-apps'))
  } finally {
    repo.cleanup()
  }
})
