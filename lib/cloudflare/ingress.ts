// The tunnel's ingress, planned from the registry: a pure function of the configuration read from the API and the
// desired hosts. Rules Stackyard does not own (isOwnedRule) are kept exactly as read; the catch-all stays last; the
// whole document is returned for one PUT (the API has no per-rule call).
import { FailureError } from '../core/errors.ts'
import type { IngressRule, TunnelConfig, TunnelConfiguration } from './client.ts'
import { fqdn, underDomain, type Desired, type DesiredHost } from './config.ts'
import type { Change, Problem } from './diff.ts'

export const CATCH_ALL: IngressRule = { service: 'http_status:404' }

/** What cloudflared needs to enforce Access on a hostname. */
export interface HostAccess {
  teamName: string
  aud: string
}

export interface IngressOptions {
  /** hosts whose owned rule is removed (routes --remove) */
  remove?: readonly string[]
  /** remove owned rules of hosts no longer declared */
  prune?: boolean
  /** take over a foreign rule that routes a declared host elsewhere */
  force?: boolean
}

export interface IngressPlan {
  /** the configuration to PUT (every top-level field kept as read) */
  config: TunnelConfig
  /** the version read; compared with a fresh read just before the PUT */
  version: number
  changed: boolean
  changes: Change[]
  problems: Problem[]
}

export function isCatchAll(rule: IngressRule): boolean {
  return (!rule.hostname || rule.hostname === '*') && !rule.path
}

const normService = (s: string) => s.trim().toLowerCase().replace(/\/+$/, '')

/**
 * Owned by Stackyard: no `path`, the proxy URL as `service` (e.g. http://caddy:80) and a plain (non-wildcard)
 * hostname under DOMAIN. Everything else is foreign: other services, path rules, wildcards, other domains (e.g.
 * another installation's hosts).
 */
export function isOwnedRule(rule: IngressRule, proxyUrl: string, domain: string): boolean {
  if (!rule.hostname || rule.path || rule.hostname.includes('*')) return false
  return normService(rule.service) === normService(proxyUrl) && underDomain(rule.hostname, domain) && fqdn(rule.hostname) !== fqdn(domain)
}

/** Refuses a tunnel that reads its ingress from a local config file. */
export function assertRemotelyManaged(current: Pick<TunnelConfiguration, 'source'>, tunnel: string): void {
  if (current.source === 'local')
    throw new FailureError(`tunnel ${tunnel} is locally managed (its ingress lives in a cloudflared config file), so Stackyard will not edit its ingress`, {
      hint: 'migrate it to a remotely-managed tunnel in the Zero Trust dashboard, or set CLOUDFLARE_TUNNEL_NAME to another tunnel',
    })
}

export function planIngress(current: TunnelConfiguration, desired: Desired, access: ReadonlyMap<string, HostAccess>, opts: IngressOptions = {}): IngressPlan {
  const changes: Change[] = []
  const problems: Problem[] = []
  const add = (op: Change['op'], key: string, detail: string) => changes.push({ area: 'ingress', op, key, detail })
  const problem = (key: string, message: string, hint?: string) => problems.push({ area: 'ingress', key, message, hint })
  const { proxyUrl, domain } = desired
  const rules = current.config?.ingress ?? []
  const remove = new Set((opts.remove ?? []).map(fqdn))
  const wanted = new Map(desired.hosts.map((h) => [h.host, h]))

  const catchAlls = rules.filter(isCatchAll)
  const catchAll = catchAlls[catchAlls.length - 1] ?? CATCH_ALL
  if (!catchAlls.length) add('+', 'catch-all', `${CATCH_ALL.service} (the last rule must match everything)`)
  else if (!isCatchAll(rules[rules.length - 1]) || catchAlls.length > 1) add('~', 'catch-all', `${catchAll.service} moved to the end`)

  const build = (d: DesiredHost, existing?: IngressRule): IngressRule | undefined => {
    const { hostname: _h, service: _s, path: _p, originRequest: existingOrigin, ...rest } = existing ?? ({} as Partial<IngressRule>)
    const originRequest: Record<string, unknown> = { ...(existingOrigin ?? {}), httpHostHeader: d.host }
    delete originRequest.access
    if (d.access === 'protected') {
      const a = access.get(d.host)
      if (!a) return undefined
      originRequest.access = { required: true, teamName: a.teamName, audTag: [a.aud] }
    }
    return { ...rest, hostname: d.host, service: proxyUrl, originRequest }
  }
  const accessLabel = (d: DesiredHost) => (d.access === 'protected' ? ', Access required' : d.access === 'bypass' ? ', Access bypass' : '')

  const out: IngressRule[] = []
  const handled = new Set<string>()
  let foreign = 0
  for (const rule of rules) {
    if (isCatchAll(rule)) continue
    const host = rule.hostname ? fqdn(rule.hostname) : ''
    if (isOwnedRule(rule, proxyUrl, domain)) {
      const d = wanted.get(host)
      if (remove.has(host)) {
        add('-', host, `removed${d ? ' (still declared in the registry: the next run without --remove adds it back)' : ''}`)
        continue
      }
      if (handled.has(host)) {
        add('-', host, 'duplicate rule (an earlier rule already matches this host)')
        continue
      }
      if (!d) {
        if (opts.prune) add('-', host, 'no longer declared (--prune)')
        else {
          add('=', host, 'no longer declared (kept; --prune removes it)')
          out.push(rule)
        }
        continue
      }
      handled.add(host)
      const next = build(d, rule)
      if (!next) {
        problem(host, 'declared protected but has no Access application yet; rule left as it is', 'run cloudflare/access.ts or apply.ts first')
        out.push(rule)
        continue
      }
      const diff = diffRule(rule, next)
      add(diff.length ? '~' : '=', host, diff.length ? diff.join(', ') : `${proxyUrl}${accessLabel(d)}`)
      out.push(next)
      continue
    }
    foreign++
    const d = host && !rule.path ? wanted.get(host) : undefined
    if (d && !handled.has(host) && !remove.has(host)) {
      handled.add(host)
      if (opts.force) {
        const next = build(d)
        if (next) {
          add('~', host, `taken over from a rule not managed by Stackyard (was ${rule.service}; --force)`)
          out.push(next)
          foreign--
          continue
        }
      }
      problem(host, `a rule not managed by Stackyard routes this host to ${rule.service}; left as it is`, 'remove it in the dashboard, or run with --force to replace it')
    }
    out.push(rule)
  }
  for (const host of remove) if (!changes.some((c) => c.key === host && c.op === '-')) {
    if (rules.some((r) => r.hostname && fqdn(r.hostname) === host)) problem(host, 'the rule for this host is not managed by Stackyard; not removed', 'remove it in the dashboard')
    else add('=', host, 'no rule to remove')
  }
  for (const d of desired.hosts) {
    if (handled.has(d.host) || remove.has(d.host)) continue
    const next = build(d)
    if (!next) {
      problem(d.host, 'declared protected but has no Access application yet; not routed', 'run cloudflare/apply.ts (Access first, then the rule)')
      continue
    }
    // first match wins: put the rule before any foreign wildcard that would shadow it
    const at = out.findIndex((r) => r.hostname?.startsWith('*.') && !r.path && d.host.endsWith(r.hostname.slice(1)))
    if (at === -1) out.push(next)
    else out.splice(at, 0, next)
    add('+', d.host, `→ ${proxyUrl}${accessLabel(d)}`)
  }
  if (foreign) add('=', `${foreign} other rule${foreign === 1 ? '' : 's'}`, 'not managed by Stackyard (kept as read)')
  const config: TunnelConfig = { ...(current.config ?? {}), ingress: [...out, catchAll] }
  const changed = stableJson(config) !== stableJson(current.config ?? {})
  return { config, version: current.version, changed, changes, problems }
}

function diffRule(a: IngressRule, b: IngressRule): string[] {
  const out: string[] = []
  if (normService(a.service) !== normService(b.service) || a.service !== b.service) out.push(`service ${a.service} → ${b.service}`)
  const ao = a.originRequest ?? {}
  const bo = b.originRequest ?? {}
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)]))
    if (stableJson(ao[k]) !== stableJson(bo[k])) out.push(k === 'access' ? (bo.access ? (ao.access ? 'originRequest.access updated' : 'originRequest.access added') : 'originRequest.access removed') : `originRequest.${k}`)
  const rest = (r: IngressRule) => stableJson({ ...r, service: undefined, originRequest: undefined })
  if (rest(a) !== rest(b)) out.push('rule fields')
  return out
}

/** JSON with sorted keys (undefined dropped): equal documents compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v))
}
