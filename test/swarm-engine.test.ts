// The engine setting end to end (fake docker, an engine that is not part of a swarm): tasks not built for swarm refuse
// it with exit 2 and run no docker command; the swarm tasks (health, logs, doctor --live) say the engine is no swarm
// manager (exit 2, how to make one) while doctor's configuration checks still run; STACKYARD_ENGINE in .env and
// --engine choose it; a bad value is a configuration error naming its source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo } from './helpers/repo.ts'

test('under the swarm engine a compose-only task exits 2 before any docker command; --engine compose lifts it', async () => {
  const repo = tempRepo()
  try {
    const flag = await repo.run('compose.ts', ['data', '--engine', 'swarm', '--', 'ps'])
    assert.equal(flag.code, 2, flag.stdout + flag.stderr)
    assert.match(flag.stderr, /does not work with the swarm engine yet \(--engine swarm\)/)
    repo.write('.env', 'STACKYARD_ENGINE=swarm\n', 0o600)
    const setting = await repo.run('compose.ts', ['data', '--', 'ps'])
    assert.equal(setting.code, 2, setting.stdout + setting.stderr)
    assert.match(setting.stderr, /STACKYARD_ENGINE=swarm/)
    assert.deepEqual(repo.dockerCalls(), [], 'no docker command ran')
    const doctor = await repo.run('doctor.ts', ['--json'])
    assert.ok(JSON.parse(doctor.stdout).checks.length > 5, 'doctor\'s configuration checks run under swarm')
    for (const [t, args] of [['doctor.ts', ['--live']], ['health.ts', []], ['logs.ts', ['--stack', 'data']]] as const) {
      const r = await repo.run(t, [...args])
      assert.equal(r.code, 2, `${t}: ${r.stdout}${r.stderr}`)
      assert.match(r.stderr, /the engine is not part of a swarm \(swarm state: inactive\), and STACKYARD_ENGINE is swarm/, t)
      assert.match(r.stderr, /docker swarm init/, t)
    }
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
