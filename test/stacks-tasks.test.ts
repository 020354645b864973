// The stacks behind the proxy through the real task files, in a temporary copy of the repository: secrets generate
// creates every app secret in its format, doctor is clean on the shipped configuration, and a hardware profile
// repeated in STACKYARD_PROFILES (two Ollama variants at once) is caught.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo } from './helpers/repo.ts'
import { parseDotenv } from '../lib/env.ts'

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
    assert.match(report.checks.find((c) => c.id === 'metadata')!.summary, /^4 stacks, 14 services, 8 routes/)
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
