// Health checks derived from the registry: every enabled service's own Docker health state, plus probes chosen by
// what a service is (its image, x-proxy, x-route): the proxy's config validates in its container, PostgreSQL accepts
// connections, Valkey/Redis answer PING, Infisical's /api/status answers through the proxy; and one line with what
// doctor --live finds (each declared secret against its running service). Read-only commands; the containers are
// reached through a ServiceAccess (compose by default, the swarm engine's running tasks under swarm).
import type { Service, Stack } from '../model/registry.ts'
import { repository } from '../docker/state.ts'
import { table } from '../core/format.ts'
import { color } from '../core/log.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { validateInContainer } from '../caddy/proxy.ts'
import type { ServiceStatus } from './status.ts'
import { composeAccess, type ServiceAccess } from './access.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'
import { routeHost } from '../model/routes.ts'
import { hasCheck, liveSecrets } from './live-secrets.ts'

export interface HealthResult {
  check: string
  target: string
  ok: boolean
  detail: string
}

interface Probe {
  check: string
  applies(s: Service, p: Platform): boolean
  run(access: Pick<ServiceAccess, 'exec'>, p: Platform, s: Service): Promise<{ ok: boolean; detail: string }>
}

const imageIs = (s: Service, name: string) => Boolean(s.image && new RegExp(`(^|/)${name}$`).test(repository(s.image)))
/** the service's own health-check command, as one string ('' when it has none) */
const healthTest = (s: Service): string => {
  const test = (s.raw.healthcheck as { test?: unknown } | undefined)?.test
  return Array.isArray(test) ? test.join(' ') : typeof test === 'string' ? test : ''
}
/** what a service is: its image name or the tool its own health check calls (pgvector/pgvector is a PostgreSQL) */
const is = (s: Service, image: string, tool: string) => imageIs(s, image) || new RegExp(`(^|\\s|/)${tool}(\\s|$)`).test(healthTest(s))
const TIMEOUT = 20_000

async function inService(access: Pick<ServiceAccess, 'exec'>, p: Platform, s: Service, command: string[], expect?: RegExp): Promise<{ ok: boolean; detail: string }> {
  const r = await access.exec(p.registry.stack(s.stack), s.name, command, { timeoutMs: TIMEOUT })
  const text = (r.stdout.trim() || r.stderr.trim()).split('\n').slice(-2).join(' ')
  const ok = r.exitCode === 0 && (!expect || expect.test(r.stdout))
  return { ok, detail: text || `exit ${r.exitCode}` }
}

/** Probes by what a service is; the list grows with the kinds of services stacks bring, never with their names. */
export const PROBES: Probe[] = [
  {
    check: 'proxy config valid',
    applies: (s) => s.proxy,
    run: async (access, p) => validateInContainer((c) => access.exec(p.proxyStack!, p.registry.proxy!.name, c)).then((r) => ({ ok: r.ok, detail: r.ok ? 'caddy validate: valid' : r.output })),
  },
  {
    check: 'postgres ready',
    applies: (s) => is(s, 'postgres', 'pg_isready'),
    run: (access, p, s) => {
      const user = literal(serviceEnvironment(s.raw.environment).POSTGRES_USER)
      return inService(access, p, s, ['pg_isready', '-h', '127.0.0.1', ...(user ? ['-U', user] : [])], /accepting connections/)
    },
  },
  {
    check: 'valkey ping',
    applies: (s) => is(s, 'valkey', 'valkey-cli'),
    run: (access, p, s) => inService(access, p, s, ['valkey-cli', '-h', '127.0.0.1', 'ping'], /PONG/),
  },
  {
    check: 'redis ping',
    applies: (s) => is(s, 'redis', 'redis-cli'),
    run: (access, p, s) => inService(access, p, s, ['redis-cli', '-h', '127.0.0.1', 'ping'], /PONG/),
  },
  {
    check: 'infisical /api/status via proxy',
    applies: (s, p) => imageIs(s, 'infisical') && Boolean(s.route) && Boolean(p.registry.proxy),
    run: async (access, p, s) => {
      const r = s.route!
      // from inside the proxy container: the same path users take, without the tunnel
      const url = p.settings.environment === 'public' ? `http://127.0.0.1:80/api/status` : `http://127.0.0.1:${r.local_port}/api/status`
      const host = p.settings.environment === 'public' ? ['--header', `Host: ${routeHost(r, p.settings)}`] : []
      return inService(access, p, p.registry.proxy!, ['wget', '-q', '-O', '-', '-T', '5', ...host, url])
    },
  },
]

export async function runHealth(ctx: Pick<StackCtx, 'exec'>, p: Platform, stacks: readonly Stack[], access: ServiceAccess = composeAccess(ctx, p)): Promise<HealthResult[]> {
  const status = await access.status(stacks)
  const byKey = new Map(status.map((s) => [`${s.stack}/${s.service}`, s]))
  // compose says "running", swarm "running 1/1" (its tasks run healthy or not at all)
  const up = (s: ServiceStatus) => /^running\b/.test(s.state)
  const running = (s: Service) => { const row = byKey.get(`${s.stack}/${s.name}`); return row !== undefined && up(row) }
  const results: HealthResult[] = status.filter((s) => s.enabled).map((s: ServiceStatus) => ({
    check: 'docker health',
    target: `${s.stack}/${s.service}`,
    ok: s.ok,
    detail: up(s) ? s.health || `${s.state} (no health check)` : s.state,
  }))
  const proxy = p.registry.proxy
  const proxyRunning = !proxy ? false : byKey.has(`${proxy.stack}/${proxy.name}`) ? running(proxy) : (await access.running(proxy.stack)).has(proxy.name)
  const probes: Array<Promise<HealthResult>> = []
  for (const stack of stacks)
    for (const s of p.plan(stack).enabled)
      for (const probe of PROBES) {
        if (!probe.applies(s, p) || !running(s)) continue
        const needsProxy = probe.check.includes('via proxy')
        if (needsProxy && !proxyRunning) {
          probes.push(Promise.resolve({ check: probe.check, target: `${s.stack}/${s.name}`, ok: false, detail: 'the proxy is not running' }))
          continue
        }
        probes.push(probe.run(access, p, s).then((r) => ({ check: probe.check, target: `${s.stack}/${s.name}`, ...r })))
      }
  return [...results, ...(await Promise.all(probes)), ...(await liveLine(ctx, p, stacks, access))]
}

/** doctor --live's result as one line (the same code): ok, N mismatches, or not checked; none without a declared check. */
async function liveLine(ctx: Pick<StackCtx, 'exec'>, p: Platform, stacks: readonly Stack[], access: ServiceAccess): Promise<HealthResult[]> {
  const names = stacks.map((s) => s.name)
  if (![...p.registry.secrets.values()].some((d) => hasCheck(d) && names.includes(d.stack))) return []
  const r = await liveSecrets(ctx, p, { stacks: names, access })
  const detail = r.status === 'ok' ? `ok: ${r.summary}` : r.status === 'skip' ? `not checked: ${r.summary.replace(/^none checked: /, '')}` : `${r.summary}: npx zx tasks/doctor.ts --live names each fix`
  return [{ check: 'live secrets', target: 'doctor --live', ok: r.status !== 'fail', detail }]
}

export function renderHealth(results: readonly HealthResult[]): string {
  return table([['', 'check', 'service', 'detail'], ...results.map((r) => [r.ok ? color.green('ok') : color.red('FAIL'), r.check, r.target, r.detail])])
}
