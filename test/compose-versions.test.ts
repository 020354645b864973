// The Compose version the user runs decides how env files read: up records it, every task models it, doctor warns
// where versions disagree, and what an old Compose refuses is refused first, naming file:line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo } from './helpers/repo.ts'

const json = (s: string) => JSON.parse(s)

test('doctor names a key that reads differently under older Compose, with both values, where, and how to write it', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    repo.write('.env.global', repo.read('.env.global') + 'SITE_HOST=\n')
    repo.write('.env', repo.read('.env') + 'SITE_HOST=example.org\nSITE_URL=https://www.${SITE_HOST}\nDOMAIN=example.net\nTZ=Etc/${DOMAIN}\n', 0o600)
    const r = await repo.run('doctor.ts', ['--json'])
    const check = json(r.stdout).checks.find((c: { id: string }) => c.id === 'compose-versions')
    assert.equal(check.status, 'warn', r.stdout)
    const f = check.findings.find((x: { message: string }) => x.message.startsWith('SITE_URL'))
    // a value of .env is a secret: its readings are not shown
    assert.equal(f.message, 'SITE_URL reads differently with Compose before 2.39.0 and with newer ones (a secret: values not shown)')
    assert.match(f.where, /^\.env:\d+$/)
    assert.match(f.fix, /earlier file also sets/)
    // a setting declared non-secret shows both readings
    const tz = check.findings.find((x: { message: string }) => x.message.startsWith('TZ'))
    assert.equal(tz.message, 'TZ is "Etc/" with Compose before 2.39.0 and "Etc/example.net" with newer ones')
    // a configuration that reads the same everywhere: no finding, and the summary says which Compose is modelled
    repo.write('.env', repo.read('.env').replace('SITE_URL=https://www.${SITE_HOST}\nDOMAIN=example.net\nTZ=Etc/${DOMAIN}\n', ''), 0o600)
    const clean = json((await repo.run('doctor.ts', ['--json'])).stdout).checks.find((c: { id: string }) => c.id === 'compose-versions')
    assert.equal(clean.status, 'ok')
    assert.match(clean.summary, /modelling the current Compose \(none measured yet\)/)
  } finally {
    repo.cleanup()
  }
})

test('up records the Compose it runs; env.ts then reads the files as that Compose does', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    repo.write('.env.global', repo.read('.env.global') + 'SITE_HOST=\n')
    repo.write('.env', repo.read('.env') + 'SITE_HOST=example.org\nSITE_URL=https://www.${SITE_HOST}\n', 0o600)
    // the value itself (a .env value is masked in listings): --reveal prints it and nothing else
    const env = async (shell: Record<string, string> = {}) => (await repo.run('env.ts', ['--reveal', 'SITE_URL'], { env: shell, allowSecrets: true })).stdout.trim()
    const value = (v: string) => v
    assert.equal(value(await env()), 'https://www.example.org', 'nothing measured: the current rules')
    // the fake engine reports Compose 2.39.1 (docker info's client plugins)
    const up = await repo.run('up.ts', ['--dry-run'])
    assert.equal(up.code, 0, up.stderr)
    assert.ok(!repo.exists('.stackyard/compose-version'), 'a dry run records nothing')
    assert.equal((await repo.run('up.ts')).code, 0)
    assert.equal(repo.read('.stackyard/compose-version'), '2.39.1\n')
    assert.equal(value(await env()), 'https://www.example.org', '2.39.1 already has the new lookup order')
    assert.equal(value(await env({ STACKYARD_COMPOSE_VERSION: '2.26.1' })), 'https://www.', 'older Compose: the earlier file wins')
  } finally {
    repo.cleanup()
  }
})

test('what an older Compose refuses (a word without "=" at the end of .env) is exit 2 naming .env:line, before any compose call', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    const lines = repo.read('.env').split('\n').length
    repo.write('.env', repo.read('.env') + 'DEBUG', 0o600)
    // doctor, no Compose measured yet (the current rules read it): sound env files, a warning that older Compose refuses it
    const d = json((await repo.run('doctor.ts', ['--json'])).stdout).checks.find((c: { id: string }) => c.id === 'compose-versions')
    assert.equal(d.status, 'warn')
    assert.match(d.findings[0].message, /Compose before 2\.39\.3 refuses it: .*text that is not KEY=value/)
    const r = await repo.run('up.ts', [], { env: { STACKYARD_COMPOSE_VERSION: '2.26.1' } })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`\\.env:${lines}:1: text that is not KEY=value`))
    assert.doesNotMatch(r.stderr, /DEBUG/, 'the text itself is never echoed (it may be a pasted secret)')
    assert.match(r.stderr, /setenv: invalid argument/)
    assert.ok(!repo.dockerCalls().some((c) => c.argv.includes('compose') && !c.argv.includes('version')), 'no compose call')
    // the fake engine's Compose (2.39.1, recorded by that up) refuses it too: doctor's env-files check fails, naming the line
    const after = json((await repo.run('doctor.ts', ['--json'])).stdout).checks.find((c: { id: string }) => c.id === 'env-files')
    assert.equal(after.status, 'fail')
    assert.equal(after.findings[0].where, `.env:${lines}`)
  } finally {
    repo.cleanup()
  }
})
