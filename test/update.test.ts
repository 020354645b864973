// update --apply against the fake docker: the backup gate (a stateful service without a fresh backup is refused,
// --dry-run shows it, --backup takes one first, stateless services pass, the setting and the flag) and the automatic
// rollback of a service whose new image does not become healthy. The real engine runs the same in test/real/update.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { composeSub, fixtureRepo as baseRepo, isMutating, portsFrom, resetCalls } from './stack-fixtures.ts'
import type { TempRepo } from './helpers/repo.ts'

const PORTS = portsFrom(28140)
const fixtureRepo = () => baseRepo({ ports: PORTS })
const INFRA = 'stackyard-infra'
const COMPUTE = 'stackyard-fixture-compute'
const id = (c: string) => 'sha256:' + c.repeat(64)

type Service = { imageId: string; health: string; state: string }
type State = { projects: Record<string, { services: Record<string, Service> }>; remote?: Record<string, { id: string; digest: string }>; fail?: Record<string, unknown> }

const state = (repo: TempRepo) => repo.dockerState() as State
function edit(repo: TempRepo, f: (s: State) => void): void {
  const s = state(repo)
  f(s)
  repo.write('.test-docker/state.json', JSON.stringify(s))
}
const running = (repo: TempRepo, project: string, service: string) => state(repo).projects[project].services[service]
const ups = (repo: TempRepo) => repo.dockerCalls().filter((c) => composeSub(c) === 'up')
const history = (repo: TempRepo) => JSON.parse(repo.read('.stackyard/image-history.json')) as { entries: Array<{ applied: boolean; rolledBack: boolean; autoRollback?: { services: string[]; healthy: boolean }; services: Array<{ service: string; from: { id: string } }> }> }
const journal = (repo: TempRepo, entries: unknown[]) => repo.write('.stackyard/backups.json', JSON.stringify({ version: 1, entries }))
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString()

/** a platform that runs, with newer images waiting in the registry for valkey (stateful) and ollama (stateless) */
async function updatable(): Promise<TempRepo> {
  const repo = fixtureRepo()
  assert.equal((await repo.run('up.ts')).code, 0)
  edit(repo, (s) => {
    s.remote = {
      'valkey/valkey:8.1.4-alpine': { id: id('a'), digest: 'valkey/valkey@' + id('b') },
      'ollama/ollama:0.5.7': { id: id('c'), digest: 'ollama/ollama@' + id('d') },
    }
  })
  resetCalls(repo)
  return repo
}

test('update --apply refuses a stateful service without a fresh backup (exit 1, nothing recreated); --dry-run shows the same refusal', async () => {
  const repo = await updatable()
  try {
    const oldValkey = running(repo, INFRA, 'valkey').imageId
    const r = await repo.run('update.ts', ['--apply', '--stack', 'infrastructure'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /update --apply refused: 1 stateful service about to be recreated has no backup younger than 24h; nothing was recreated/)
    assert.match(r.stderr, /infrastructure\/valkey: no backup/)
    assert.match(r.stderr, /add --backup \(backs up infrastructure first, then applies\)/)
    assert.deepEqual(ups(repo), [], 'nothing recreated')
    assert.equal(running(repo, INFRA, 'valkey').imageId, oldValkey)
    assert.ok(!repo.exists('.stackyard/image-history.json'), 'no apply recorded')

    // the pull moved the tag: a dry run now sees the change and says it would be refused, changing nothing
    resetCalls(repo)
    const dry = await repo.run('update.ts', ['--apply', '--dry-run', '--stack', 'infrastructure'])
    assert.equal(dry.code, 1, dry.stderr)
    assert.match(dry.stdout, /infrastructure\/valkey .* changed/)
    assert.match(dry.stderr, /update --apply refused: .*\n\s+infrastructure\/valkey: no backup/)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])

    // --json: one document on stdout, the refusal (the error names the service); an accepted apply prints the data
    const json = await repo.run('update.ts', ['--apply', '--json', '--stack', 'infrastructure'])
    assert.equal(json.code, 1, json.stderr)
    const refusedDoc = JSON.parse(json.stdout) as { error: { message: string; exitCode: number } }
    assert.equal(refusedDoc.error.exitCode, 1)
    assert.match(refusedDoc.error.message, /infrastructure\/valkey: no backup/)
    assert.deepEqual(ups(repo), [])
    const accepted = await repo.run('update.ts', ['--apply', '--json', '--dry-run', '--stack', 'infrastructure', '--backup-max-age', 'off'])
    assert.equal(accepted.code, 0, accepted.stderr)
    assert.deepEqual(JSON.parse(accepted.stdout).backups, [], 'the gate is off: no decisions')

    // a backup 30 hours old is too old for the default 24h; one whose drill failed never counts
    journal(repo, [
      { archive: 'stackyard-old.tar.gz', dir: join(repo.root, 'backups'), at: hoursAgo(30), services: [{ stack: 'infrastructure', service: 'valkey' }] },
      { archive: 'stackyard-bad.tar.gz', dir: join(repo.root, 'backups'), at: hoursAgo(1), services: [{ stack: 'infrastructure', service: 'valkey' }], verifiedAt: hoursAgo(0.5), verifyOk: false },
    ])
    const old = await repo.run('update.ts', ['--apply', '--stack', 'infrastructure'])
    assert.equal(old.code, 1, old.stderr)
    assert.match(old.stderr, /infrastructure\/valkey: last backup too old \(stackyard-old\.tar\.gz, 30 h ago\); the restore drill of stackyard-bad\.tar\.gz failed, so it does not count/)
    // the setting widens the window …
    const setting = await repo.run('update.ts', ['--apply', '--dry-run', '--stack', 'infrastructure'], { env: { STACKYARD_UPDATE_BACKUP_MAX_AGE: '3d' } })
    assert.equal(setting.code, 0, setting.stderr)
    assert.match(setting.stderr, /infrastructure\/valkey: backed up \(stackyard-old\.tar\.gz, 30 h ago\), not yet proven by a restore drill.*it counts; prove it with npx zx tasks\/backup\.ts --verify/)
    // … and the flag overrides the setting for one run
    const flag = await repo.run('update.ts', ['--apply', '--dry-run', '--stack', 'infrastructure', '--backup-max-age', '12h'], { env: { STACKYARD_UPDATE_BACKUP_MAX_AGE: '3d' } })
    assert.equal(flag.code, 1, flag.stderr)
    assert.match(flag.stderr, /no backup younger than 12h/)
    const bad = await repo.run('update.ts', ['--apply', '--backup-max-age', 'soon'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--backup-max-age soon: not a duration/)
    const badSetting = await repo.run('update.ts', ['--apply'], { env: { STACKYARD_UPDATE_BACKUP_MAX_AGE: '1 day' } })
    assert.equal(badSetting.code, 2)
    assert.match(badSetting.stderr, /STACKYARD_UPDATE_BACKUP_MAX_AGE \(from your shell\): "1 day" is not a duration/)
    const alone = await repo.run('update.ts', ['--backup'])
    assert.equal(alone.code, 2)
    assert.match(alone.stderr, /--backup and --backup-max-age go with --apply/)
  } finally {
    repo.cleanup()
  }
})

test('update --apply: a verified fresh backup lets it through; a stateless service is never gated', async () => {
  const repo = await updatable()
  try {
    journal(repo, [{ archive: 'stackyard-good.tar.gz', dir: join(repo.root, 'backups'), at: hoursAgo(2), services: [{ stack: 'infrastructure', service: 'valkey' }], verifiedAt: hoursAgo(1), verifyOk: true }])
    const r = await repo.run('update.ts', ['--apply', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /infrastructure\/valkey: backed up \(stackyard-good\.tar\.gz, 2 h ago\), restore drill passed/)
    const decisions = JSON.parse(r.stdout).backups as Array<{ stack: string; service: string; verdict: string; archive: string }>
    assert.deepEqual(decisions.map((d) => [`${d.stack}/${d.service}`, d.verdict, d.archive]), [['infrastructure/valkey', 'verified', 'stackyard-good.tar.gz']], 'only the stateful service is judged')
    assert.equal(running(repo, INFRA, 'valkey').imageId, id('a'))
    assert.equal(running(repo, COMPUTE, 'ollama').imageId, id('c'))

    // a stateless service alone: no journal needed, nothing said about backups
    const fresh = await updatable()
    try {
      const s = await fresh.run('update.ts', ['--apply', '--stack', 'compute'])
      assert.equal(s.code, 0, s.stderr)
      assert.doesNotMatch(s.stderr, /backup/)
      assert.equal(running(fresh, COMPUTE, 'ollama').imageId, id('c'))
    } finally {
      fresh.cleanup()
    }
  } finally {
    repo.cleanup()
  }
})

test('update --apply --backup backs up exactly the stacks whose stateful services change, records it, then applies', async () => {
  const repo = await updatable()
  try {
    assert.equal((await repo.run('update.ts')).code, 0, 'pulled: the tags moved, nothing recreated')
    resetCalls(repo)
    const dry = await repo.run('update.ts', ['--apply', '--backup', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /\[dry-run\] write backups\/stackyard-backup-infrastructure-/)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])
    assert.ok(!repo.exists('.stackyard/backups.json'))

    const r = await repo.run('update.ts', ['--apply', '--backup'])
    assert.equal(r.code, 0, r.stderr)
    const archives = readdirSync(join(repo.root, 'backups')).filter((f) => f.endsWith('.tar.gz'))
    assert.equal(archives.length, 1)
    assert.match(archives[0], /infrastructure/, 'only the stack whose stateful service is recreated')
    const j = JSON.parse(repo.read('.stackyard/backups.json'))
    assert.equal(j.entries.length, 1)
    assert.equal(j.entries[0].archive, archives[0])
    assert.deepEqual(j.entries[0].services.map((s: { stack: string; service: string }) => `${s.stack}/${s.service}`).sort(), ['infrastructure/caddy', 'infrastructure/valkey'])
    assert.match(r.stderr, /infrastructure\/valkey: backed up \(stackyard-backup-infrastructure-.*, 0 min ago\), not yet proven by a restore drill/)
    // the backup came before the recreation
    const calls = repo.dockerCalls()
    const dump = calls.findIndex((c) => c.argv.includes('--rdb'))
    const up = calls.findIndex((c) => composeSub(c) === 'up')
    assert.ok(dump !== -1 && up > dump, 'dumped, then recreated')
    assert.equal(running(repo, INFRA, 'valkey').imageId, id('a'))
  } finally {
    repo.cleanup()
  }
})

test('update --apply: a new image that does not become healthy is put back on the recorded image by itself (exit 1), recorded as rolled back automatically', async () => {
  const repo = await updatable()
  try {
    const oldOllama = running(repo, COMPUTE, 'ollama').imageId
    edit(repo, (s) => {
      s.fail = { [COMPUTE]: { service: 'ollama', imageId: id('c'), output: 'new image: health check failed' } }
    })
    const r = await repo.run('update.ts', ['--apply', '--stack', 'compute'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /new image: health check failed/, 'the diagnosis of the failed recreation')
    assert.match(r.stderr, /compute\/ollama \(dddddddddddd\) did not become healthy: rolled back automatically to the image that ran before, which is healthy again/)
    assert.ok(repo.dockerCalls().some((c) => c.argv.join(' ') === `tag ${oldOllama} ollama/ollama:0.5.7`), 're-tagged by the rollback procedure')
    assert.equal(ups(repo).length, 2, 'recreated, then recreated again on the old image')
    assert.equal(running(repo, COMPUTE, 'ollama').imageId, oldOllama)
    assert.equal(running(repo, COMPUTE, 'ollama').health, 'healthy')
    const e = history(repo).entries[0]
    assert.deepEqual([e.applied, e.rolledBack, e.autoRollback?.services, e.autoRollback?.healthy], [false, true, ['compute/ollama'], true])
    // a manual rollback afterwards has nothing left to do
    resetCalls(repo)
    const again = await repo.run('update.ts', ['--rollback'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /nothing to roll back/)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])
  } finally {
    repo.cleanup()
  }
})

test('update --apply: a failure in a later stack rolls back only that stack\'s failed services; earlier stacks keep theirs until --rollback', async () => {
  const repo = await updatable()
  try {
    const oldValkey = running(repo, INFRA, 'valkey').imageId
    const oldOllama = running(repo, COMPUTE, 'ollama').imageId
    edit(repo, (s) => {
      s.fail = { [COMPUTE]: { service: 'ollama', imageId: id('c') } }
    })
    const r = await repo.run('update.ts', ['--apply'], { env: { STACKYARD_UPDATE_BACKUP_MAX_AGE: 'off' } })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /compute\/ollama \(\w{12}\) did not become healthy: rolled back automatically .*; infrastructure\/valkey kept its new image \(npx zx tasks\/update\.ts --rollback puts it back too\)/)
    assert.deepEqual([running(repo, INFRA, 'valkey').imageId, running(repo, COMPUTE, 'ollama').imageId], [id('a'), oldOllama])
    const e = history(repo).entries[0]
    assert.deepEqual([e.applied, e.rolledBack, e.autoRollback?.services], [false, false, ['compute/ollama']])
    const back = await repo.run('update.ts', ['--rollback'])
    assert.equal(back.code, 0, back.stderr)
    assert.match(back.stderr, /compute\/ollama: already runs/)
    assert.deepEqual([running(repo, INFRA, 'valkey').imageId, running(repo, COMPUTE, 'ollama').imageId], [oldValkey, oldOllama])
    assert.equal(history(repo).entries[0].rolledBack, true)
  } finally {
    repo.cleanup()
  }
})

test('update --apply: when the old image is not healthy either, the apply says so (exit 1) and records it', async () => {
  const repo = await updatable()
  try {
    edit(repo, (s) => {
      s.fail = { [COMPUTE]: { service: 'ollama', output: 'broken whatever the image' } }
    })
    const r = await repo.run('update.ts', ['--apply', '--stack', 'compute'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /rolled back to the image that ran before, and is not healthy on it either: compute\/ollama/)
    assert.deepEqual(history(repo).entries[0].autoRollback?.healthy, false)
    assert.ok(existsSync(join(repo.root, '.stackyard', 'image-history.json')))
  } finally {
    repo.cleanup()
  }
})
