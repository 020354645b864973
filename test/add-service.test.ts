// README "Add a service", done for real: the three YAML blocks of that section go into a temporary copy of the
// repository (at the end of x-secrets, services and volumes of compose/03-apps/docker-compose.yml, nothing else),
// then every command of its console block runs there (against the fake docker and the fake Cloudflare API) and must
// print the lines the README shows. So the worked example cannot drift from what the tasks do.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO, type TempRepo } from './helpers/repo.ts'
import { exampleInstallation, type FakeCloudflare } from './fake-cloudflare.ts'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { parse as parseYaml } from 'yaml'

const FILE = 'compose/03-apps/docker-compose.yml'
const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
const section = /<!-- section:add-service -->([\s\S]*?)<!-- \/section:add-service -->/.exec(readme)?.[1] ?? ''
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])

interface Step { command: string; args: string[]; comment: string; shows: string[] }
/** `$ npx zx tasks/<task> args   # comment` lines and the output lines under each. */
function steps(): Step[] {
  const out: Step[] = []
  for (const line of blocks('console')[0].split('\n')) {
    const cmd = /^\$ npx zx tasks\/(\S+)((?: [^#]*?)?)\s*(?:#\s*(.*))?$/.exec(line)
    if (cmd) out.push({ command: cmd[1], args: cmd[2].trim().split(/\s+/).filter(Boolean), comment: cmd[3] ?? '', shows: [] })
    else if (line.trim() && line.trim() !== '…') out.at(-1)!.shows.push(line.trim())
  }
  return out
}
/** A shown line as a pattern: whitespace runs are flexible, `<tunnel id>` is any id, `…` is anything. */
const pattern = (shown: string) =>
  new RegExp(shown.split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+').replace('<tunnel\\s+id>', '[0-9a-f-]+').replace('…', '.*'))

let fake: FakeCloudflare
let repo: TempRepo
let close: () => Promise<void>

// an installation that is already set up: its secrets exist before the edit
before(async () => ({ fake, repo, close } = await exampleInstallation()))
after(() => close())

test('the README shows three YAML blocks and a console session for the worked example', () => {
  assert.equal(blocks('yaml').length, 3, 'secret, service, volume')
  assert.deepEqual(steps().map((s) => s.command), ['secrets.ts', 'secrets.ts', 'doctor.ts', '00-infrastructure/caddy.ts', '00-infrastructure/cloudflare/apply.ts', 'up.ts'])
})

test('the one edit: the blocks go at the end of x-secrets, services and volumes of the apps stack', () => {
  const [secret, service, volume] = blocks('yaml')
  const text = repo.read(FILE)
  const services = text.indexOf('\nservices:\n')
  const networks = text.indexOf('\nnetworks:\n')
  assert.ok(services > 0 && networks > services && text.trimEnd().endsWith('name: stackyard-searxng-cache'), 'the anchors the README names are where it says')
  const edited = text.slice(0, services) + '\n' + secret.trimEnd() + text.slice(services, networks) + '\n' + service.trimEnd() + '\n' + text.slice(networks).trimEnd() + '\n' + volume
  repo.write(FILE, edited)
  const doc = parseYaml(edited)
  assert.equal(doc['x-secrets'].GRAFANA_ADMIN_PASSWORD.format, 'password')
  assert.equal(doc.services.grafana['x-route'].subdomain, 'grafana')
  assert.deepEqual(doc.volumes['grafana-data'], { name: 'stackyard-grafana-data' })
  assert.deepEqual(Object.keys(doc.services), ['n8n', 'openwebui', 'flowise', 'searxng', 'grafana'])
})

test('every command of the README session runs and prints what the README shows', async () => {
  const cloudflareEnv = { STACKYARD_ENVIRONMENT: 'public', DOMAIN: 'example.com', CLOUDFLARE_API_TOKEN: fake.token(), CLOUDFLARE_API_BASE_URL: fake.url, CLOUDFLARE_ACCESS_EMAILS: 'me@example.com' }
  const outputs: Record<string, string> = {}
  const stdouts: Record<string, string> = {}
  for (const step of steps()) {
    const env = /public environment/.test(step.comment) ? cloudflareEnv : {}
    const r = await repo.run(step.command, step.args, { env })
    const key = `${step.command} ${step.args.join(' ')}`.trim()
    assert.equal(r.code, 0, `${key}: ${r.stderr}`)
    outputs[key] = r.stdout + r.stderr
    stdouts[key] = r.stdout
    for (const shown of step.shows) assert.match(r.stdout + r.stderr, pattern(shown), `${key} should show: ${shown}`)
  }

  // and what each picked up, beyond the lines shown
  const env = parseDotenv(repo.read('.env'))
  assert.match(env.GRAFANA_ADMIN_PASSWORD, /^[A-Za-z0-9]{32}$/)
  assert.equal(outputs['secrets.ts generate --dry-run'].match(/\+ create/g)?.length, 1, 'only the new secret is created')
  assert.ok(!Object.values(outputs).some((o) => o.includes(env.GRAFANA_ADMIN_PASSWORD)), 'the secret is never printed')
  writeFileSync(join(repo.root, 'printed.caddy'), stdouts['00-infrastructure/caddy.ts render --print'])
  const v = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', join(repo.root, 'printed.caddy')], { encoding: 'utf8' })
  assert.equal(v.status, 0, v.stderr)
  assert.deepEqual(fake.writes(), [], 'apply --dry-run wrote nothing at Cloudflare')
  const state = repo.dockerState() as { projects: Record<string, { services: Record<string, { image: string }> }> }
  assert.equal(state.projects['stackyard-apps'].services.grafana.image, 'grafana/grafana:12.4.0')
  assert.match(repo.read('.stackyard/derived.env'), /^GRAFANA_URL="http:\/\/localhost:8304"$/m)
  assert.match(repo.read('.stackyard/proxy-ports.private.yml'), /:8304:8304"/)
  assert.match(repo.read('caddy/Caddyfile'), /reverse_proxy grafana:3000 \{/)
})
