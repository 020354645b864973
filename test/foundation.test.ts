// End to end through the task files, in a temporary copy of the repository: doctor, env, secrets,
// bad input, flags and help, .npmrc's preload not leaking into children.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { tempRepo } from './helpers/repo.ts'
import { parseDotenv } from '../lib/env/dotenv.ts'

const json = (s: string) => JSON.parse(s)

test('secrets generate: dry-run writes nothing; then creates every generated secret once, 0600, and converges', async () => {
  const repo = tempRepo()
  try {
    const dry = await repo.run('secrets.ts', ['generate', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.ok(!repo.exists('.env'), 'dry-run must not create .env')
    assert.match(dry.stdout, /\+ create\s+INFISICAL_ENCRYPTION_KEY/)
    assert.match(dry.stdout, /\[dry-run\] edit \.env: \+INFISICAL_ENCRYPTION_KEY/)

    const first = await repo.run('secrets.ts', ['generate'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(statSync(join(repo.root, '.env')).mode & 0o777, 0o600)
    const env = parseDotenv(repo.read('.env'))
    assert.match(env.INFISICAL_ENCRYPTION_KEY, /^[0-9a-f]{32}$/)
    assert.equal(Buffer.from(env.INFISICAL_AUTH_SECRET, 'base64').length, 32)
    assert.match(env.INFISICAL_POSTGRES_PASSWORD, /^[A-Za-z0-9]{32}$/)
    assert.equal(env.CLOUDFLARE_API_TOKEN, undefined, 'external secrets are never generated')
    for (const v of [env.INFISICAL_ENCRYPTION_KEY, env.INFISICAL_AUTH_SECRET, env.INFISICAL_POSTGRES_PASSWORD])
      assert.ok(!first.stdout.includes(v) && !first.stderr.includes(v), 'a generated secret was printed')

    const before = repo.read('.env')
    const second = await repo.run('secrets.ts', ['generate', '--json'])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(repo.read('.env'), before, 'a second run must change nothing')
    assert.ok(json(second.stdout).items.every((i: { action: string }) => ['keep', 'optional'].includes(i.action)))

    const rotated = await repo.run('secrets.ts', ['generate', '--rotate', 'INFISICAL_POSTGRES_PASSWORD'])
    assert.equal(rotated.code, 0, rotated.stderr)
    const after = parseDotenv(repo.read('.env'))
    assert.notEqual(after.INFISICAL_POSTGRES_PASSWORD, env.INFISICAL_POSTGRES_PASSWORD)
    assert.equal(after.INFISICAL_ENCRYPTION_KEY, env.INFISICAL_ENCRYPTION_KEY)
    assert.equal(repo.read('.env.bak'), before, 'the previous file is kept as a backup')
  } finally {
    repo.cleanup()
  }
})

test('secrets generate keeps comments, order and user keys of an existing .env', async () => {
  const repo = tempRepo()
  try {
    repo.write('.env', '# my settings\nDOMAIN=example.org # mine\n\nINFISICAL_AUTH_SECRET="keep-me-as-is-even-if-odd"\n', 0o600)
    const r = await repo.run('secrets.ts', ['generate'])
    assert.equal(r.code, 0, r.stderr)
    const text = repo.read('.env')
    assert.ok(text.startsWith('# my settings\nDOMAIN=example.org # mine\n\nINFISICAL_AUTH_SECRET="keep-me-as-is-even-if-odd"\n'), text)
    assert.equal(parseDotenv(text).INFISICAL_AUTH_SECRET, 'keep-me-as-is-even-if-odd')
    assert.match(r.stdout, /keep \(invalid\)\s+INFISICAL_AUTH_SECRET/)
  } finally {
    repo.cleanup()
  }
})

test('doctor: unsound without secrets (exit 1, with the fix), sound after generate (exit 0)', async () => {
  const repo = tempRepo()
  try {
    const before = await repo.run('doctor.ts', ['--json'])
    assert.equal(before.code, 1, before.stderr)
    const report = json(before.stdout)
    assert.equal(report.sound, false)
    const secrets = report.checks.find((c: { id: string }) => c.id === 'secrets')
    assert.equal(secrets.status, 'fail')
    // a fresh clone: one finding with what to run, not one per secret (nor Infisical's while its profile is off)
    assert.deepEqual(secrets.findings.map((f: { message: string }) => f.message), [secrets.findings[0].message])
    assert.match(secrets.findings[0].message, /no secret is set yet \(no \.env\): \d+ generated secrets to create/)
    assert.match(secrets.findings[0].fix, /setup\.ts/)
    // with a .env that lacks them, each is named; one only a profile that is off uses says Compose still reads it
    repo.write('.env', 'TZ=UTC\n', 0o600)
    const partial = json((await repo.run('doctor.ts', ['--json'])).stdout).checks.find((c: { id: string }) => c.id === 'secrets')
    assert.ok(partial.findings.some((f: { message: string; fix: string }) => /^INFISICAL_ENCRYPTION_KEY missing \(Compose reads it even while the infisical profile is off\)$/.test(f.message) && /secrets\.ts generate/.test(f.fix)))
    assert.ok(partial.findings.some((f: { message: string }) => f.message === 'N8N_DB_PASSWORD missing'))

    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    const after = await repo.run('doctor.ts')
    assert.equal(after.code, 0, after.stdout + after.stderr)
    assert.match(after.stdout, /✔ +compose files/)
    // unset optional tokens (Cloudflare, Infisical identity) are not counted as present
    const declared = Number(/(\d+) secrets declared/.exec(after.stdout)?.[1])
    const [, present, unset] = /✔ +secrets +(\d+) declared secrets present and well-formed; (\d+) optional external ones? not set/.exec(after.stdout) ?? []
    assert.ok(Number(unset) > 0 && Number(present) + Number(unset) === declared, after.stdout)
    assert.match(after.stdout, /sound/)
  } finally {
    repo.cleanup()
  }
})

test('doctor catches the classic mistakes: short key, world-readable .env, undefined variable, shell shadowing, duplicate port', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    const env = repo.read('.env').replace(/INFISICAL_ENCRYPTION_KEY="[0-9a-f]+"/, 'INFISICAL_ENCRYPTION_KEY="0123456789abcdef"')
    repo.write('.env', env + 'DOMAIN=example.org\n', 0o644)
    const compose = repo.read('compose/00-infrastructure/docker-compose.yml')
    repo.write('compose/00-infrastructure/docker-compose.yml', compose.replace('CADDY_LOG_LEVEL: ${CADDY_LOG_LEVEL:-INFO}', 'CADDY_LOG_LEVEL: ${CADDY_LOG_LEVEL:-INFO}\n      EXTRA: ${UNDEFINED_THING}'))
    repo.write('compose/05-extra/docker-compose.yml', 'name: extra\nx-stackyard:\n  description: a stack whose route reuses a port\nservices:\n  web:\n    image: nginx:1.27\n    x-route: { subdomain: web, port: 80, local_port: 8020 }\nnetworks:\n  default:\n    external: true\n    name: ai-network\n')
    const r = await repo.run('doctor.ts', ['--json'], { env: { DOMAIN: 'shell.example.net' } })
    assert.equal(r.code, 1)
    const checks = Object.fromEntries(json(r.stdout).checks.map((c: { id: string }) => [c.id, c]))
    assert.match(JSON.stringify(checks.secrets.findings), /INFISICAL_ENCRYPTION_KEY must be 32 hex characters/)
    assert.match(JSON.stringify(checks['secret-files'].findings), /\.env is readable by others \(mode 0644\)/)
    assert.match(JSON.stringify(checks.variables.findings), /UNDEFINED_THING/)
    assert.equal(checks.shadowed.status, 'warn')
    assert.match(JSON.stringify(checks.shadowed.findings), /DOMAIN is set in your shell and overrides \.env:\d+/)
    assert.match(JSON.stringify(checks.ports.findings), /local port 8020 is claimed by infrastructure\/infisical-backend and extra\/web/)
    assert.ok(!r.stdout.includes('0123456789abcdef'), 'doctor printed a secret')
  } finally {
    repo.cleanup()
  }
})

test('env: provenance per key, secrets masked, --reveal prints one value', async () => {
  const repo = tempRepo()
  try {
    await repo.run('secrets.ts', ['generate'])
    repo.write('.env', repo.read('.env') + 'TZ=Europe/Paris\n')
    repo.write('.env.infisical', 'INFISICAL_AUTH_SECRET="from-infisical-value-123"\n', 0o600)
    // without Infisical configured the export is no layer (one rule for every task)
    const off = await repo.run('env.ts', ['--json'])
    assert.equal(off.code, 0, off.stderr)
    assert.match(json(off.stdout).keys.find((k: { key: string }) => k.key === 'INFISICAL_AUTH_SECRET').source, /^\.env:\d+$/)
    repo.write('.env', repo.read('.env') + 'INFISICAL_CLIENT_ID=id-1\nINFISICAL_CLIENT_SECRET="client-secret-123"\nINFISICAL_PROJECT_ID=p-1\n')
    const r = await repo.run('env.ts', ['--json'])
    assert.equal(r.code, 0, r.stderr)
    const keys = Object.fromEntries(json(r.stdout).keys.map((k: { key: string }) => [k.key, k]))
    assert.match(keys.TZ.source, /^\.env:\d+$/)
    assert.match(keys.CADDY_LOG_LEVEL.source, /^\.env\.global:\d+$/)
    assert.equal(keys.INFISICAL_AUTH_SECRET.source, '.env.infisical:1')
    assert.equal(keys.INFISICAL_AUTH_SECRET.value, '•••• (24 chars)')
    assert.equal(keys.INFISICAL_SITE_URL.value, 'http://localhost:8020')
    assert.equal(keys.INFISICAL_SITE_URL.source, 'derived (x-route)')
    assert.ok(!r.stdout.includes('from-infisical-value-123'))
    const shell = await repo.run('env.ts', ['--json'], { env: { TZ: 'UTC' } })
    assert.equal(json(shell.stdout).keys.find((k: { key: string }) => k.key === 'TZ').source, 'shell')
    const reveal = await repo.run('env.ts', ['--reveal', 'INFISICAL_AUTH_SECRET'], { allowSecrets: ['INFISICAL_AUTH_SECRET'] })
    assert.equal(reveal.stdout, 'from-infisical-value-123\n')
  } finally {
    repo.cleanup()
  }
})

test('bad input: a malformed .env names file:line, exits 2, and nothing is written', async () => {
  const repo = tempRepo()
  try {
    const bad = 'DOMAIN=example.org\nBROKEN="never closed\n'
    repo.write('.env', bad, 0o600)
    for (const task of ['env.ts', 'secrets.ts']) {
      const r = await repo.run(task, [])
      assert.equal(r.code, 2, `${task}: ${r.stderr}`)
      assert.match(r.stderr, /\.env:2:8: unterminated/)
      assert.ok(!r.stderr.includes('never closed\n') && !r.stderr.includes('"never'), 'the value is not echoed')
      assert.match(r.stderr, /hint:/)
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace without --verbose')
    }
    assert.equal(repo.read('.env'), bad)
    const doctor = await repo.run('doctor.ts')
    assert.equal(doctor.code, 1)
    assert.match(doctor.stdout, /\.env:2/)
  } finally {
    repo.cleanup()
  }
})

test('bad input: invalid x- metadata is exit 2 with file:line:field; doctor reports it', async () => {
  const repo = tempRepo()
  try {
    const compose = repo.read('compose/00-infrastructure/docker-compose.yml')
    repo.write('compose/00-infrastructure/docker-compose.yml', compose.replace('local_port: 8020', 'local_port: 80'))
    const r = await repo.run('secrets.ts', ['generate'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /compose\/00-infrastructure\/docker-compose\.yml:\d+: services\.infisical-backend\.x-route\.local_port/)
    assert.ok(!repo.exists('.env'))
    const d = await repo.run('doctor.ts', ['--json'])
    assert.equal(d.code, 1)
    assert.equal(json(d.stdout).checks[0].status, 'fail')
  } finally {
    repo.cleanup()
  }
})

test('flags: unknown flag exits 2 with a suggestion; --help is rendered from declarations; --json errors are JSON', async () => {
  const repo = tempRepo()
  try {
    const r = await repo.run('secrets.ts', ['--dryrun'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown flag --dryrun/)
    assert.match(r.stderr, /did you mean --dry-run/)
    const h = await repo.run('secrets.ts', ['--help'])
    assert.equal(h.code, 0)
    assert.match(h.stdout, /Usage: npx zx tasks\/secrets\.ts \[ACTION\] \[flags\]/)
    assert.match(h.stdout, /--rotate KEY/)
    assert.match(h.stdout, /--dry-run/)
    const j = await repo.run('env.ts', ['--json', '--reveal', 'NOPE'])
    assert.equal(j.code, 2)
    assert.equal(json(j.stdout).error.exitCode, 2)
  } finally {
    repo.cleanup()
  }
})

test('npx zx runs a task verbatim and children do not inherit the preload of .npmrc', () => {
  const repo = tempRepo()
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
    delete env.NODE_OPTIONS
    const r = spawnSync('npx', ['--no-install', 'zx', 'tasks/doctor.ts', '--help'], { cwd: repo.root, env, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Check that the configuration is sound/)
    // a task's child process must not inherit .npmrc's preload (it would load lib/boot/ into every program the task
    // starts): record the NODE_OPTIONS it sees
    repo.write('tasks/_probe.ts', "import { task } from '../lib/task/task.ts'\nawait task({ summary: 'probe', async run(ctx) { const r = await ctx.exec('node', ['-e', 'process.stdout.write(String(process.env.NODE_OPTIONS))']); ctx.out(r.stdout) } })\n")
    const p = spawnSync('npx', ['--no-install', 'zx', 'tasks/_probe.ts'], { cwd: repo.root, env, encoding: 'utf8' })
    assert.equal(p.status, 0, p.stderr)
    assert.equal(p.stdout.trim(), 'undefined')
  } finally {
    repo.cleanup()
  }
})
