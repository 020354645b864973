// The suite's leak scan (test/helpers/repo.ts): every run fails when it prints a secret of the copy's env files unmasked.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempRepo } from './helpers/repo.ts'

const PASSPHRASE = 'correct horse battery staple 42'

test('a run that prints a secret of .env unmasked fails, naming the key and not the value; allowSecrets opts out', async () => {
  const repo = tempRepo()
  try {
    repo.write('.env', `STACKYARD_BACKUP_PASSPHRASE="${PASSPHRASE}"\nINFISICAL_SECRET_PATH=/staging-folder\n`, 0o600)
    await assert.rejects(repo.run('env.ts', ['--reveal', 'STACKYARD_BACKUP_PASSPHRASE']), (err: Error) => {
      assert.match(err.message, /^leak scan: env\.ts printed the value of STACKYARD_BACKUP_PASSPHRASE \(\.env\) unmasked/)
      assert.ok(!err.message.includes(PASSPHRASE))
      return true
    })
    const revealed = await repo.run('env.ts', ['--reveal', 'STACKYARD_BACKUP_PASSPHRASE'], { allowSecrets: ['STACKYARD_BACKUP_PASSPHRASE'] })
    assert.equal(revealed.stdout.trim(), PASSPHRASE)
    // a declared non-secret setting may be printed
    const path = await repo.run('env.ts', ['--reveal', 'INFISICAL_SECRET_PATH'])
    assert.equal(path.stdout.trim(), '/staging-folder')
  } finally {
    repo.cleanup()
  }
})
