// The shipped stacks at Cloudflare's edge, through tasks/00-infrastructure/cloudflare/apply.ts against the loopback
// fake API: every app gets an Access application, an ingress rule to Caddy with Access enforced and a proxied CNAME;
// --dry-run sends no write; switching the hardware profile changes nothing at the edge (the Ollama variants share
// one route), and without a model server its host is kept unless --prune.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { TempRepo } from './helpers/repo.ts'
import { exampleInstallation, type FakeCloudflare } from './fake-cloudflare.ts'

const APPS = ['ollama', 'n8n', 'openwebui', 'flowise', 'searxng']
const APPLY = '00-infrastructure/cloudflare/apply.ts'
let fake: FakeCloudflare
let repo: TempRepo
let close: () => Promise<void>

before(async () => {
  ;({ fake, repo, close } = await exampleInstallation())
  const settings = ['STACKYARD_ENVIRONMENT=public', 'DOMAIN=example.com', `CLOUDFLARE_API_TOKEN=${fake.token()}`, `CLOUDFLARE_API_BASE_URL=${fake.url}`, 'CLOUDFLARE_ACCESS_EMAILS=me@example.com']
  repo.write('.env', repo.read('.env') + settings.join('\n') + '\n', 0o600)
})

after(() => close())

test('apply --dry-run: an Access app, an ingress rule and a CNAME for every app; no write request, no file change', async () => {
  const envBefore = repo.read('.env')
  const from = fake.server.requests.length
  const r = await repo.run(APPLY, ['--dry-run'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(fake.writes(from), [])
  assert.equal(repo.read('.env'), envBefore)
  for (const sub of APPS) {
    assert.match(r.stdout, new RegExp(`\\+ ${sub}\\.example\\.com: self-hosted app`), `${sub}: Access app`)
    assert.match(r.stdout, new RegExp(`\\+ ${sub}\\.example\\.com: → http://caddy:80, Access required`), `${sub}: ingress`)
    assert.match(r.stdout, new RegExp(`\\+ ${sub}\\.example\\.com: CNAME → [0-9a-f-]+\\.cfargotunnel\\.com \\(proxied\\)`), `${sub}: DNS`)
  }
  assert.doesNotMatch(r.stdout, /ollama-(cpu|gpu)/, 'one host for the Ollama variants')
})

test('apply, then a switch of hardware profile: the edge is already right (nothing to change)', async () => {
  const r = await repo.run(APPLY, [])
  assert.equal(r.code, 0, r.stderr)
  for (const sub of APPS) {
    const app = fake.state.apps.find((a) => a.domain === `${sub}.example.com`)
    assert.ok(app, `${sub}: Access app`)
    assert.match(repo.read('.env'), new RegExp(`^${sub.toUpperCase()}_ACCESS_AUD="?${app.aud}"?$`, 'm'))
  }
  const from = fake.server.requests.length
  const nvidia = await repo.run(APPLY, ['--dry-run'], { env: { STACKYARD_PROFILE: 'gpu-nvidia' } })
  assert.equal(nvidia.code, 0, nvidia.stderr)
  assert.match(nvidia.stderr, /nothing to change/)
  const none = await repo.run(APPLY, ['--dry-run'], { env: { STACKYARD_PROFILE: 'none' } })
  assert.equal(none.code, 0, none.stderr)
  assert.match(none.stdout, /= ollama\.example\.com: no longer routed \(kept; --prune removes it\)/, 'without a model server its host is left alone unless pruned')
  assert.deepEqual(fake.writes(from), [])
})
