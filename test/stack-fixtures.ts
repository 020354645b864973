// Fixture stacks for the orchestration tests: data and compute after infrastructure, apps after both, written into a
// temporary repository copy (see test/helpers/repo.ts). Local ports are high and unusual: preflight probes them.
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tempRepo, type TempRepo, type DockerCall } from './helpers/repo.ts'

export interface Ports { db: number; ollama: number; web: number }
/** Test files run concurrently and preflight binds these for real: each file takes its own base, below the
 * ephemeral range (32768+) so that no outgoing connection of a concurrent test can hold one by chance. */
export const portsFrom = (base: number): Ports => ({ db: base + 1, ollama: base + 2, web: base + 3 })
export const PORTS = portsFrom(28100)

const NET = `networks:\n  default:\n    external: true\n    name: ai-network\n`

export const fixtures = (PORTS: Ports): Record<string, string> => ({
  'compose/10-data/docker-compose.yml': `name: stackyard-fixture-data
x-stackyard:
  description: fixture data stack
  after: [infrastructure]
services:
  db:
    image: postgres:16.10-alpine
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: \${INFISICAL_POSTGRES_PASSWORD:?run npx zx tasks/secrets.ts generate}
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1"]
    x-route:
      subdomain: db
      port: 8080
      local_port: ${PORTS.db}
${NET}`,
  'compose/20-compute/docker-compose.yml': `name: stackyard-fixture-compute
x-stackyard:
  description: fixture compute stack
  after: [infrastructure]
services:
  ollama:
    image: ollama/ollama:0.5.7
    profiles: [cpu]
    healthcheck:
      test: ["CMD", "ollama", "list"]
    x-route:
      subdomain: ollama
      port: 11434
      local_port: ${PORTS.ollama}
      timeout: 300s
  ollama-gpu:
    image: ollama/ollama:0.5.7
    profiles: [gpu-nvidia]
${NET}`,
  'compose/30-apps/docker-compose.yml': `name: stackyard-fixture-apps
x-stackyard:
  description: fixture apps stack
  after: [data, compute]
services:
  web:
    image: nginx:1.27.3-alpine
    environment:
      PUBLIC_URL: \${WEB_URL}
    healthcheck:
      test: ["CMD", "wget", "-q", "--spider", "http://127.0.0.1/"]
    x-route:
      subdomain: web
      port: 80
      local_port: ${PORTS.web}
      body_limit: 100MB
${NET}`,
  'compose/30-apps/docker-compose.override.public.yml': `services:\n  web:\n    environment:\n      SECURE_COOKIES: "true"\n`,
})

/** A valid .env with every generated secret of the infrastructure stack (fixed test values). */
export const DOT_ENV = [
  'INFISICAL_ENCRYPTION_KEY="00112233445566778899aabbccddeeff"',
  `INFISICAL_AUTH_SECRET="${Buffer.alloc(32, 7).toString('base64')}"`,
  'INFISICAL_POSTGRES_PASSWORD="Abcdefghijklmnopqrstuvwxyz012345"',
  '',
].join('\n')

/**
 * A repository copy with the real infrastructure stack and the fixture stacks only: the shipped app stacks are
 * removed so that the tests do not change whenever those do (everything under test is generic over the registry).
 */
export function fixtureRepo(opts: { env?: string; fixtures?: boolean; ports?: Ports } = {}): TempRepo {
  const repo = tempRepo()
  for (const folder of readdirSync(join(repo.root, 'compose'))) if (folder !== '00-infrastructure') rmSync(join(repo.root, 'compose', folder), { recursive: true })
  if (opts.fixtures !== false) for (const [path, content] of Object.entries(fixtures(opts.ports ?? PORTS))) repo.write(path, content)
  repo.write('.env', opts.env ?? DOT_ENV, 0o600)
  return repo
}

/** Forgets the recorded calls, keeps the engine state (containers, images). */
export function resetCalls(repo: TempRepo): void {
  rmSync(join(repo.root, '.test-docker', 'calls.jsonl'), { force: true })
}

/** Argv with the temporary root replaced by $ROOT, for exact comparisons. */
export function rel(repo: TempRepo, call: DockerCall): string[] {
  return call.argv.map((a) => a.split(repo.root).join('$ROOT'))
}

/** Does this docker call change something (what --dry-run must never run)? */
export function isMutating(call: DockerCall): boolean {
  const sub = composeSub(call)
  if (sub) return ['up', 'down', 'pull', 'exec', 'restart', 'stop', 'rm', 'create', 'start', 'kill'].includes(sub)
  const [a, b] = call.argv
  return ['tag', 'pull', 'rm', 'rmi', 'stop', 'run', 'start', 'kill'].includes(a) || (['network', 'image', 'volume'].includes(a) && ['create', 'rm', 'tag', 'pull', 'prune'].includes(b))
}

export function composeSub(call: DockerCall): string | undefined {
  const i = call.argv.indexOf('compose')
  if (i === -1) return undefined
  const withValue = new Set(['--project-name', '-p', '--project-directory', '-f', '--file', '--env-file', '--profile'])
  for (let j = i + 1; j < call.argv.length; j++) {
    if (withValue.has(call.argv[j])) { j++; continue }
    if (!call.argv[j].startsWith('-')) return call.argv[j]
  }
  return undefined
}

export function project(call: DockerCall): string | undefined {
  const i = call.argv.indexOf('--project-name')
  return i === -1 ? undefined : call.argv[i + 1]
}
