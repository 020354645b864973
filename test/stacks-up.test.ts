// The shipped stacks through tasks/up.ts and tasks/down.ts against the fake docker (which interpolates the compose
// files with the --env-file layers as Compose does, so a missing `${X:?}` fails the run): the right project, files,
// env files and profiles for each stack and hardware profile, data and compute healthy before apps, the Ollama
// variant of the profile, the URLs the apps get in each environment.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempRepo, type DockerCall, type TempRepo } from './helpers/repo.ts'
import { composeSub, isMutating, project, rel } from './stack-fixtures.ts'
import { loadRegistry } from '../lib/model/registry.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { upCommand } from '../lib/docker/compose.ts'

const PROJECTS = { infrastructure: 'stackyard-infra', data: 'stackyard-data', compute: 'stackyard-compute', apps: 'stackyard-apps' }
const ENV_FILES = ['--env-file', '$ROOT/.stackyard/derived.env', '--env-file', '$ROOT/.env.global', '--env-file', '$ROOT/.env']
const WAIT = ['up', '--detach', '--wait', '--wait-timeout', '300']
const ups = (calls: DockerCall[]) => calls.filter((c) => composeSub(c) === 'up')

async function platformRepo(): Promise<TempRepo> {
  const repo = tempRepo()
  const r = await repo.run('secrets.ts', ['generate'])
  assert.equal(r.code, 0, r.stderr)
  return repo
}

interface State { projects: Record<string, { services: Record<string, { image: string; health: string }> }> }

/** The exact argv of a stack's `up`, as the orchestration must build it. */
function expectedUp(folder: string, name: string, o: { override?: boolean; overlay?: boolean; profiles?: string[] } = {}): string[] {
  return [
    'compose', '--project-name', name, '--project-directory', `$ROOT/compose/${folder}`,
    '-f', `$ROOT/compose/${folder}/docker-compose.yml`,
    ...(o.override ? ['-f', `$ROOT/compose/${folder}/docker-compose.override.public.yml`] : []),
    ...(o.overlay ? ['-f', '$ROOT/.stackyard/proxy-ports.private.yml'] : []),
    ...ENV_FILES,
    ...(o.profiles ?? []).flatMap((p) => ['--profile', p]),
    ...WAIT,
  ]
}

function assertOrder(calls: DockerCall[]) {
  const order = ups(calls).map(project)
  assert.equal(order.length, 4, `one up per stack: ${order.join(', ')}`)
  // infrastructure, data and compute depend on nothing (they may start together); apps only after data and compute
  assert.deepEqual(order.slice(0, 3).sort(), [PROJECTS.compute, PROJECTS.data, PROJECTS.infrastructure])
  assert.equal(order[3], PROJECTS.apps)
}

test('up (private, cpu): one project per stack, exact files, env-file layers and profiles; apps after data and compute', async () => {
  const repo = await platformRepo()
  try {
    const r = await repo.run('up.ts')
    assert.equal(r.code, 0, r.stderr)
    const calls = repo.dockerCalls()
    assertOrder(calls)
    const byProject = Object.fromEntries(ups(calls).map((c) => [project(c), rel(repo, c)]))
    assert.deepEqual(byProject[PROJECTS.infrastructure], expectedUp('00-infrastructure', PROJECTS.infrastructure, { overlay: true }))
    assert.deepEqual(byProject[PROJECTS.data], expectedUp('01-data', PROJECTS.data))
    assert.deepEqual(byProject[PROJECTS.compute], expectedUp('02-compute', PROJECTS.compute, { profiles: ['cpu'] }))
    assert.deepEqual(byProject[PROJECTS.apps], expectedUp('03-apps', PROJECTS.apps))
    // what ran: the fake interpolated every compose file with those layers (a missing ${X:?} would have failed)
    const state = repo.dockerState() as unknown as State
    assert.deepEqual(Object.keys(state.projects[PROJECTS.data].services), ['postgres'])
    assert.deepEqual(Object.keys(state.projects[PROJECTS.compute].services), ['ollama-cpu'], 'only the cpu variant')
    assert.deepEqual(Object.keys(state.projects[PROJECTS.apps].services), ['n8n', 'openwebui', 'flowise', 'searxng'])
    for (const p of Object.values(state.projects)) for (const [name, s] of Object.entries(p.services)) assert.equal(s.health, 'healthy', name)
    // the generated inputs: self URLs, the local ports on the proxy, the sites
    const derived = repo.read('.stackyard/derived.env')
    for (const [k, v] of Object.entries({ N8N_URL: 'http://localhost:8300', OPENWEBUI_URL: 'http://localhost:8301', FLOWISE_URL: 'http://localhost:8302', SEARXNG_URL: 'http://localhost:8303', OLLAMA_URL: 'http://localhost:8200' }))
      assert.match(derived, new RegExp(`^${k}="${v}"$`, 'm'))
    const overlay = repo.read('.stackyard/proxy-ports.private.yml')
    for (const port of [8200, 8300, 8301, 8302, 8303]) assert.match(overlay, new RegExp(`"\\$\\{LOCAL_BIND_ADDRESS:-127\\.0\\.0\\.1\\}:${port}:${port}"`))
    const caddyfile = repo.read('caddy/Caddyfile')
    for (const upstream of ['ollama-cpu:11434', 'n8n:5678', 'openwebui:8080', 'flowise:3000', 'searxng:8080']) assert.ok(caddyfile.includes(`reverse_proxy ${upstream} {`), upstream)
    assert.doesNotMatch(caddyfile, /ollama-gpu/)
    for (const line of ['apps/n8n\\s+http://localhost:8300', 'apps/openwebui\\s+http://localhost:8301', 'compute/ollama-cpu\\s+http://localhost:8200']) assert.match(r.stdout, new RegExp(line))
  } finally {
    repo.cleanup()
  }
})

test('up --profile gpu-nvidia: the NVIDIA variant (its own image line and reservations) behind the same route', async () => {
  const repo = await platformRepo()
  try {
    const bin = mkdtempSync(join(tmpdir(), 'stackyard-bin-'))
    repo.write('.test-bin/nvidia-smi', '#!/bin/sh\necho "NVIDIA GeForce RTX 4090"\n', 0o755)
    symlinkSync(join(repo.root, '.test-bin/nvidia-smi'), join(bin, 'nvidia-smi'))
    repo.dockerRules([{ match: ['info'], stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: {}, nvidia: {} }, OperatingSystem: 'Fake Linux' }) }])
    const r = await repo.run('up.ts', ['--profile', 'gpu-nvidia'], { env: { PATH: `${join(repo.root, 'test', 'fake-docker')}:${bin}:${process.env.PATH}` } })
    assert.equal(r.code, 0, r.stderr)
    const calls = repo.dockerCalls()
    assertOrder(calls)
    const compute = ups(calls).find((c) => project(c) === PROJECTS.compute)!
    assert.deepEqual(rel(repo, compute), expectedUp('02-compute', PROJECTS.compute, { profiles: ['gpu-nvidia'] }))
    const state = repo.dockerState() as unknown as State
    assert.deepEqual(Object.keys(state.projects[PROJECTS.compute].services), ['ollama-gpu-nvidia'])
    assert.match(repo.read('caddy/Caddyfile'), /reverse_proxy ollama-gpu-nvidia:11434 \{/)
    assert.doesNotMatch(repo.read('caddy/Caddyfile'), /ollama-cpu/)
    // the profile applies to the compute stack only: the others declare no hardware profile
    for (const c of ups(calls).filter((x) => project(x) !== PROJECTS.compute)) assert.ok(!c.argv.includes('--profile'), project(c))
  } finally {
    repo.cleanup()
  }
})

test('gpu-amd: the ROCm variant with its devices; preflight refuses it on a machine without /dev/kfd and /dev/dri', async () => {
  const repo = await platformRepo()
  try {
    const p = loadPlatform({ root: repo.root, registry: loadRegistry(repo.root) }, { profile: 'gpu-amd', profiles: 'active', generating: true })
    // only another engine is remote (the local checks are skipped there): Docker's `default` context is this machine
    const on = (dockerContext?: string) => loadPlatform({ root: repo.root, registry: p.registry, dockerContext }, { profile: 'gpu-amd', profiles: 'active', generating: true }).remote
    assert.deepEqual([on(), on('default'), on('edge-1')], [false, false, true])
    const compute = p.registry.stack('compute')
    assert.deepEqual(p.plan(compute).enabled.map((s) => [s.name, s.image]), [['ollama-gpu-amd', 'ollama/ollama:0.32.6-rocm']])
    assert.deepEqual(p.plan(compute).routes.map((r) => `${r.service}:${r.port} ${r.local_port}`), ['ollama-gpu-amd:11434 8200'])
    assert.deepEqual(p.args(compute, upCommand({ timeout: 300 })).map((a) => a.split(repo.root).join('$ROOT')), expectedUp('02-compute', PROJECTS.compute, { profiles: ['gpu-amd'] }))
    const r = await repo.run('up.ts', ['--profile', 'gpu-amd'])
    if (existsSync('/dev/kfd') && existsSync('/dev/dri')) {
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(Object.keys((repo.dockerState() as unknown as State).projects[PROJECTS.compute].services), ['ollama-gpu-amd'])
    } else {
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /profile gpu-amd: .*missing/)
      assert.deepEqual(ups(repo.dockerCalls()), [], 'nothing started')
    }
  } finally {
    repo.cleanup()
  }
})

test('up --profile none: no model server, no Ollama route; the apps still start', async () => {
  const repo = await platformRepo()
  try {
    const r = await repo.run('up.ts', ['--profile', 'none', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as { stacks: Array<{ stack: string; status: string; services: string[] }> }
    assert.deepEqual(report.stacks.map((s) => [s.stack, s.status, s.services]), [
      ['infrastructure', 'ok', ['caddy', 'valkey']],
      ['data', 'ok', ['postgres']],
      ['compute', 'ok', []],
      ['apps', 'ok', ['n8n', 'openwebui', 'flowise', 'searxng']],
      ['ops', 'ok', []], // every ops tool is behind a profile of its own, off by default
    ])
    // Compose refuses an up with no service selected: the compute stack is not run through it, its dependants start
    assert.deepEqual(ups(repo.dockerCalls()).map(project).sort(), [PROJECTS.apps, PROJECTS.data, PROJECTS.infrastructure])
    assert.match(r.stderr, /compute: nothing to start \(every service is behind a profile that is off: cpu, gpu-amd, gpu-nvidia\)/)
    assert.doesNotMatch(repo.read('caddy/Caddyfile'), /ollama/)
    assert.doesNotMatch(repo.read('.stackyard/proxy-ports.private.yml'), /8200/)
  } finally {
    repo.cleanup()
  }
})

test('up --environment public: the apps override, https self URLs from DOMAIN, domain sites, no local ports', async () => {
  const repo = await platformRepo()
  try {
    repo.write('.env', repo.read('.env') + 'DOMAIN=example.com\n', 0o600)
    const r = await repo.run('up.ts', ['--environment', 'public'])
    assert.equal(r.code, 0, r.stderr)
    const calls = repo.dockerCalls()
    assertOrder(calls)
    const byProject = Object.fromEntries(ups(calls).map((c) => [project(c), rel(repo, c)]))
    assert.deepEqual(byProject[PROJECTS.infrastructure], expectedUp('00-infrastructure', PROJECTS.infrastructure, { override: true }))
    assert.deepEqual(byProject[PROJECTS.data], expectedUp('01-data', PROJECTS.data))
    assert.deepEqual(byProject[PROJECTS.compute], expectedUp('02-compute', PROJECTS.compute, { profiles: ['cpu'] }))
    assert.deepEqual(byProject[PROJECTS.apps], expectedUp('03-apps', PROJECTS.apps, { override: true }))
    const derived = repo.read('.stackyard/derived.env')
    for (const sub of ['n8n', 'openwebui', 'flowise', 'searxng', 'ollama']) assert.match(derived, new RegExp(`^${sub.toUpperCase()}_URL="https://${sub}\\.example\\.com"$`, 'm'))
    const caddyfile = repo.read('caddy/Caddyfile')
    for (const sub of ['n8n', 'openwebui', 'flowise', 'searxng', 'ollama']) assert.match(caddyfile, new RegExp(`^http://${sub}\\.\\{\\$DOMAIN\\}:80 \\{$`, 'm'))
    assert.ok(!repo.exists('.stackyard/proxy-ports.public.yml'))
    assert.match(r.stdout, /apps\/n8n\s+https:\/\/n8n\.example\.com\s+protected/)
  } finally {
    repo.cleanup()
  }
})

test('up --stack apps --dry-run: data and compute first, nothing changed; down stops apps first, with every declared profile', async () => {
  const repo = await platformRepo()
  try {
    const dry = await repo.run('up.ts', ['--stack', 'apps', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(repo.dockerCalls().filter(isMutating).map((c) => c.argv.join(' ')), [])
    const lines = dry.stdout.split('\n').filter((l) => l.startsWith('[dry-run] docker compose'))
    const planned = lines.map((l) => /--project-name (\S+)/.exec(l)![1])
    // the proxy is not running: apps' routes need it, so it alone is started (not the whole infrastructure stack)
    assert.equal(planned[0], PROJECTS.infrastructure)
    assert.match(lines[0], / up .* caddy$/)
    assert.deepEqual(planned.slice(1, 3).sort(), [PROJECTS.compute, PROJECTS.data])
    assert.deepEqual(planned.slice(3), [PROJECTS.apps], 'the infrastructure stack is not a dependency of apps')

    assert.equal((await repo.run('up.ts')).code, 0)
    const state = repo.dockerState()
    repo.resetDocker()
    repo.write('.test-docker/state.json', JSON.stringify(state))
    const down = await repo.run('down.ts')
    assert.equal(down.code, 0, down.stderr)
    const downs = repo.dockerCalls().filter((c) => composeSub(c) === 'down')
    const order = downs.map(project).filter((p) => Object.values(PROJECTS).includes(p!)) // (and ops, highest number, first)
    assert.equal(order[0], PROJECTS.apps, 'apps stop before what they depend on')
    assert.deepEqual(order.slice(1).sort(), [PROJECTS.compute, PROJECTS.data, PROJECTS.infrastructure])
    const compute = rel(repo, downs.find((c) => project(c) === PROJECTS.compute)!)
    assert.deepEqual(compute.filter((_, i) => compute[i - 1] === '--profile'), ['cpu', 'gpu-amd', 'gpu-nvidia'], 'down names every variant, so none is left running')
    assert.deepEqual((repo.dockerState() as unknown as State).projects, {}, 'nothing left running')
  } finally {
    repo.cleanup()
  }
})
