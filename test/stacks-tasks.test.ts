// The stacks behind the proxy through the real task files, in a temporary copy of the repository: secrets generate
// creates every app secret in its format, doctor is clean on the shipped configuration, a hardware profile repeated
// in STACKYARD_PROFILES (two Ollama variants at once) is caught; the stacks' own tasks (per-app databases, models)
// against the fake docker.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { composeSub } from './stack-fixtures.ts'
import { parseDotenv } from '../lib/env/dotenv.ts'

const APP_SECRETS = {
  POSTGRES_PASSWORD: /^[A-Za-z0-9]{32}$/,
  N8N_DB_PASSWORD: /^[A-Za-z0-9]{32}$/,
  OPENWEBUI_DB_PASSWORD: /^[A-Za-z0-9]{32}$/,
  FLOWISE_DB_PASSWORD: /^[A-Za-z0-9]{32}$/,
  N8N_ENCRYPTION_KEY: /^[0-9a-f]{64}$/,
  N8N_USER_MANAGEMENT_JWT_SECRET: /^[0-9a-f]{64}$/,
  OPENWEBUI_SECRET_KEY: /^[0-9a-f]{64}$/,
  FLOWISE_ENCRYPTION_KEY: /^[0-9a-f]{64}$/,
  FLOWISE_JWT_AUTH_TOKEN_SECRET: /^[0-9a-f]{64}$/,
  FLOWISE_JWT_REFRESH_TOKEN_SECRET: /^[0-9a-f]{64}$/,
  FLOWISE_SESSION_SECRET: /^[0-9a-f]{64}$/,
  FLOWISE_TOKEN_HASH_SECRET: /^[0-9a-f]{64}$/,
  SEARXNG_SECRET: /^[0-9a-f]{64}$/,
}

test('secrets generate creates every app secret in its format, prints none; doctor is then clean (exit 0, no finding)', async () => {
  const repo = tempRepo()
  try {
    const dry = await repo.run('secrets.ts', ['generate', '--dry-run', '--json'])
    assert.equal(dry.code, 0, dry.stderr)
    const planned = JSON.parse(dry.stdout).items as Array<{ key: string; stack: string; action: string }>
    for (const key of Object.keys(APP_SECRETS)) assert.equal(planned.find((i) => i.key === key)?.action, 'create', key)
    assert.ok(!repo.exists('.env'))

    const gen = await repo.run('secrets.ts', ['generate'])
    assert.equal(gen.code, 0, gen.stderr)
    const env = parseDotenv(repo.read('.env'))
    for (const [key, format] of Object.entries(APP_SECRETS)) {
      assert.match(env[key] ?? '', format, key)
      assert.ok(!gen.stdout.includes(env[key]) && !gen.stderr.includes(env[key]), `${key} was printed`)
    }
    assert.equal(new Set(Object.keys(APP_SECRETS).map((k) => env[k])).size, Object.keys(APP_SECRETS).length, 'every value is its own')

    const doctor = await repo.run('doctor.ts', ['--json'])
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr)
    const report = JSON.parse(doctor.stdout) as { sound: boolean; checks: Array<{ id: string; status: string; summary: string; findings: unknown[] }> }
    assert.equal(report.sound, true)
    assert.deepEqual(report.checks.filter((c) => c.findings.length).map((c) => c.id), [], 'no finding at all, not even a warning')
    assert.match(report.checks.find((c) => c.id === 'metadata')!.summary, /^5 stacks, 21 services, 11 routes/)
  } finally {
    repo.cleanup()
  }
})

test('doctor: the public environment is clean too; two hardware profiles at once is a failure naming the fix', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    const pub = await repo.run('doctor.ts', ['--json'], { env: { STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com' } })
    assert.equal(pub.code, 0, pub.stdout)

    const both = await repo.run('doctor.ts', ['--json'], { env: { STACKYARD_PROFILE: 'cpu', STACKYARD_PROFILES: 'gpu-nvidia' } })
    assert.equal(both.code, 1, both.stdout)
    const hostnames = (JSON.parse(both.stdout).checks as Array<{ id: string; findings: Array<{ message: string; fix: string }> }>).find((c) => c.id === 'hostnames')!
    assert.equal(hostnames.findings.length, 1)
    assert.match(hostnames.findings[0].message, /"ollama" would be served by compute\/ollama-cpu and compute\/ollama-gpu-nvidia at once/)
    assert.match(hostnames.findings[0].fix, /STACKYARD_PROFILE only/)
  } finally {
    repo.cleanup()
  }
})

/** A platform copy with secrets and every stack up in the fake docker; its call log starts empty. */
async function running(): Promise<TempRepo> {
  const repo = tempRepo()
  assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
  assert.equal((await repo.run('up.ts')).code, 0)
  clearLog(repo)
  return repo
}
/** Empties the fake docker's call log, keeping its engine state (what runs). */
function clearLog(repo: TempRepo): void {
  const state = repo.dockerState()
  repo.resetDocker()
  repo.write('.test-docker/state.json', JSON.stringify(state))
}
const execs = (repo: TempRepo) => repo.dockerCalls().filter((c) => composeSub(c) === 'exec').map((c) => c.argv.slice(c.argv.indexOf('exec')).join(' '))
const SCRIPT = '/docker-entrypoint-initdb.d/10-app-databases.sh'

test('databases: creates only what is missing, in the running postgres; a converged server runs nothing; a stale container is refused', async () => {
  const stopped = tempRepo()
  try {
    assert.equal((await stopped.run('secrets.ts', ['generate'])).code, 0)
    const r = await stopped.run('01-data/databases.ts')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /data\/postgres is not running/)
    assert.match(r.stderr, /npx zx tasks\/up\.ts --stack data/)
  } finally {
    stopped.cleanup()
  }
  const repo = await running()
  try {
    const env = { match: ['printenv', 'APP_DATABASES'], stdout: 'n8n openwebui flowise' }
    repo.dockerRules([env, { match: ['psql'], stdout: 'db postgres\nrole postgres\ndb n8n\nrole n8n\nrole openwebui' }])
    const dry = await repo.run('01-data/databases.ts', ['--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, new RegExp(`\\[dry-run\\] docker compose --project-name stackyard-data .* exec -T '--env=APP_DATABASES=openwebui flowise' postgres bash ${SCRIPT}$`, 'm'))
    assert.ok(!execs(repo).some((e) => e.includes(SCRIPT)), 'dry-run: the script did not run')

    clearLog(repo)
    const r = await repo.run('01-data/databases.ts', ['--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { stack: 'data', service: 'postgres', apps: ['n8n', 'openwebui', 'flowise'], missing: ['openwebui', 'flowise'], ran: ['openwebui', 'flowise'] })
    assert.deepEqual(execs(repo).filter((e) => e.includes(SCRIPT)), [`exec -T --env=APP_DATABASES=openwebui flowise postgres bash ${SCRIPT}`])
    for (const c of repo.dockerCalls()) assert.ok(!Object.values(parseDotenv(repo.read('.env'))).some((v) => c.argv.join(' ').includes(v)), 'a secret on a docker command line')

    clearLog(repo)
    repo.dockerRules([env, { match: ['psql'], stdout: ['postgres', 'n8n', 'openwebui', 'flowise'].flatMap((a) => [`db ${a}`, `role ${a}`]).join('\n') }])
    const again = await repo.run('01-data/databases.ts')
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /every app database exists .*nothing to do/)
    assert.ok(!execs(repo).some((e) => e.includes(SCRIPT)), 'converged: nothing runs')
    const passwords = await repo.run('01-data/databases.ts', ['--passwords'])
    assert.equal(passwords.code, 0, passwords.stderr)
    assert.ok(execs(repo).includes(`exec -T --env=APP_DATABASES=n8n openwebui flowise postgres bash ${SCRIPT}`), '--passwords runs for every app')

    repo.dockerRules([{ match: ['printenv', 'APP_DATABASES'], stdout: 'n8n openwebui' }])
    const stale = await repo.run('01-data/databases.ts')
    assert.equal(stale.code, 1)
    assert.match(stale.stderr, /does not know flowise yet/)
    assert.match(stale.stderr, /npx zx tasks\/up\.ts --stack data/)
  } finally {
    repo.cleanup()
  }
})

test('models: pulls the listed models the running variant lacks; a second run pulls nothing; bad input and no model server are usage errors', async () => {
  const repo = await running()
  try {
    repo.write('.env', repo.read('.env') + 'OLLAMA_PULL_MODELS="llama3.2:3b, nomic-embed-text qwen3"\n', 0o600)
    const list = (models: string[]) => ({ match: ['ollama', 'list'], stdout: ['NAME                       ID              SIZE      MODIFIED', ...models.map((m) => `${m}    a80c4f17acd5    2.0 GB    2 days ago`)].join('\n') })
    repo.dockerRules([list(['qwen3:latest']), { match: ['ollama', 'pull', 'nomic-embed-text'], exit: 1, stderr: 'Error: pull model manifest: file does not exist' }])
    const r = await repo.run('02-compute/models.ts', ['pull'])
    assert.equal(r.code, 1, r.stderr)
    assert.deepEqual(execs(repo).filter((e) => e.includes('pull')), ['exec -T ollama-cpu ollama pull llama3.2:3b', 'exec -T ollama-cpu ollama pull nomic-embed-text'], 'only the missing ones, in the variant that runs')
    assert.match(r.stderr, /nomic-embed-text: Error: pull model manifest: file does not exist/)
    assert.match(r.stderr, /1 model could not be pulled: nomic-embed-text/)

    clearLog(repo)
    repo.dockerRules([list(['qwen3:latest', 'llama3.2:3b', 'nomic-embed-text:latest'])])
    const again = await repo.run('02-compute/models.ts', ['pull'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /nothing to pull/)
    assert.ok(!execs(repo).some((e) => e.includes('ollama pull')))
    const update = await repo.run('02-compute/models.ts', ['pull', '--update', '--model', 'qwen3', '--dry-run'])
    assert.equal(update.code, 0, update.stderr)
    assert.match(update.stdout, /\[dry-run\] docker compose --project-name stackyard-compute .* --profile cpu exec -T ollama-cpu ollama pull qwen3$/m)

    const bad = await repo.run('02-compute/models.ts', ['pull'], { env: { OLLAMA_PULL_MODELS: 'llama3.2 "rm -rf"' } })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /OLLAMA_PULL_MODELS: ""rm", "-rf"" are not model names/)
    const none = await repo.run('02-compute/models.ts', ['list'], { env: { STACKYARD_PROFILE: 'none' } })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no model server runs with the hardware profile none/)
  } finally {
    repo.cleanup()
  }
})
