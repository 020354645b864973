// The engine setting end to end (fake docker): tasks not built for swarm refuse it with exit 2 and run no docker
// command (doctor runs, its --live checks skipped); STACKYARD_ENGINE in .env and --engine choose it; a bad value is a configuration error naming its source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo } from './helpers/repo.ts'

test('under the swarm engine a compose-only task exits 2 before any docker command; --engine compose lifts it', async () => {
  const repo = tempRepo()
  try {
    const flag = await repo.run('logs.ts', ['--stack', 'data', '--engine', 'swarm'])
    assert.equal(flag.code, 2, flag.stdout + flag.stderr)
    assert.match(flag.stderr, /does not work with the swarm engine yet \(--engine swarm\)/)
    repo.write('.env', 'STACKYARD_ENGINE=swarm\n', 0o600)
    const setting = await repo.run('compose.ts', ['data', '--', 'ps'])
    assert.equal(setting.code, 2, setting.stdout + setting.stderr)
    assert.match(setting.stderr, /STACKYARD_ENGINE=swarm/)
    assert.deepEqual(repo.dockerCalls(), [], 'no docker command ran')
    const doctor = await repo.run('doctor.ts', ['--live', '--json'])
    const live = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'live-secrets')
    assert.deepEqual([live.status, live.summary], ['skip', 'not built for the swarm engine yet (the checks run in compose containers)'], 'doctor runs; only --live is skipped')
    const help = await repo.run('up.ts', ['--help'])
    assert.match(help.stdout, /--engine/)
    repo.write('.env', 'STACKYARD_ENGINE=kubernetes\n', 0o600)
    const bad = await repo.run('status.ts', [])
    assert.equal(bad.code, 2, bad.stdout + bad.stderr)
    assert.match(bad.stderr, /STACKYARD_ENGINE \(\.env:1\): "kubernetes" is not compose or swarm/)
  } finally {
    repo.cleanup()
  }
})
