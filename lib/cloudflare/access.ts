// Cloudflare Access, planned: a pure function of the account's Access apps, reusable policies and the desired hosts.
// One allow policy and one self-hosted application per `protected` route, none for `public`, a bypass application
// only for a route that declares `access: bypass`; what Stackyard does not own is never changed without --force.
import { ConfigError } from '../core/errors.ts'
import { AccessPolicy, type AccessApp, type AccessOrganization } from './client.ts'
import { fqdn, underDomain, type DesiredHost } from './config.ts'
import type { Change, Problem } from './diff.ts'
import { stableJson } from './ingress.ts'

export const ALLOW_POLICY = 'Stackyard allow'
export const BYPASS_POLICY = 'Stackyard bypass'
const APP_SUFFIX = '(Stackyard)'
export const SESSION_DURATION = '24h'
/** Fields of an app the API owns; never sent back in a PUT. */
const READ_ONLY = ['id', 'aud', 'created_at', 'updated_at', 'policies', 'self_hosted_domains']

export const appName = (host: string) => `${host} ${APP_SUFFIX}`
/**
 * Owned: an application whose name ends with "(Stackyard)" (the policies Stackyard owns are "Stackyard allow", built
 * from CLOUDFLARE_ACCESS_EMAILS / CLOUDFLARE_ACCESS_EMAIL_DOMAIN, and "Stackyard bypass"). An application it does not
 * own is never changed without --force; its AUD is still used for the host's ingress rule.
 */
export const isOwnedApp = (app: Pick<AccessApp, 'name'>) => app.name.trim().endsWith(APP_SUFFIX)

export interface Identities {
  emails: readonly string[]
  emailDomain?: string
  /** an identity provider ID: apps allow only it and redirect to it */
  idpId?: string
}

export type PolicyRole = 'allow' | 'bypass'
export type PolicyOp = { kind: 'create'; role: PolicyRole; body: Record<string, unknown> } | { kind: 'update'; role: PolicyRole; id: string; body: Record<string, unknown> }
export type AppOp =
  | { kind: 'create'; host: string; role: PolicyRole; body: Record<string, unknown> }
  | { kind: 'update'; host: string; role: PolicyRole; id: string; body: Record<string, unknown> }
  | { kind: 'delete'; host: string; id: string; name: string }

export interface AccessPlan {
  authDomain?: string
  /** the team name cloudflared needs: auth_domain without .cloudflareaccess.com */
  teamName?: string
  policyOps: PolicyOp[]
  /** IDs of the reusable policies that exist now */
  policyIds: Partial<Record<PolicyRole, string>>
  appOps: AppOp[]
  /** AUD per protected host, for apps that exist now (owned or not) */
  auds: Map<string, string>
  changes: Change[]
  problems: Problem[]
  warnings: string[]
}

export interface AccessOptions {
  prune?: boolean
  force?: boolean
}

export function teamNameOf(authDomain: string): string {
  return authDomain.replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/\.cloudflareaccess\.com$/i, '')
}

export function allowPolicyBody(ids: Identities): Record<string, unknown> {
  const include = [...ids.emails.map((email) => ({ email: { email } })), ...(ids.emailDomain ? [{ email_domain: { domain: ids.emailDomain } }] : [])]
  return { name: ALLOW_POLICY, decision: 'allow', include, exclude: [], require: [], session_duration: SESSION_DURATION }
}

export function bypassPolicyBody(): Record<string, unknown> {
  return { name: BYPASS_POLICY, decision: 'bypass', include: [{ everyone: {} }], exclude: [], require: [] }
}

/** Does this policy let everyone in (a bypass, or an everyone include without require)? */
export function opensToEveryone(p: { decision?: string; include?: Array<Record<string, unknown>>; require?: Array<Record<string, unknown>> | null }): boolean {
  if (p.decision === 'bypass') return true
  return p.decision === 'allow' && (p.include ?? []).some((r) => 'everyone' in r) && !(p.require ?? []).length
}

const hostsOf = (app: AccessApp): string[] => {
  const uris = [app.domain, ...(app.destinations ?? []).map((d) => d.uri)].filter((u): u is string => Boolean(u))
  return [...new Set(uris.map((u) => fqdn(u.replace(/^https?:\/\//, '').replace(/\/.*$/, ''))))]
}

/** The apps at each host (an app with several destinations is under each), in the order listed: one pass over the
 * apps, so planning is linear in hosts + apps rather than comparing every host with every app. */
export function appsByHost(apps: readonly AccessApp[]): Map<string, AccessApp[]> {
  const index = new Map<string, AccessApp[]>()
  for (const app of apps)
    for (const host of hostsOf(app)) {
      const at = index.get(host)
      if (at) at.push(app)
      else index.set(host, [app])
    }
  return index
}

/**
 * Stackyard's reusable policies as the apps embed them (an app's response carries its policies in full), so the
 * policy list need not be read; undefined when some role's policy is not on any app, a copy is incomplete, or two
 * policies carry one name (then the list is read, and its warnings apply).
 */
export function policiesFromApps(apps: readonly AccessApp[], roles: readonly PolicyRole[]): AccessPolicy[] | undefined {
  const out: AccessPolicy[] = []
  for (const role of roles) {
    const name = role === 'allow' ? ALLOW_POLICY : BYPASS_POLICY
    const copies = apps.flatMap((a) => a.policies ?? []).filter((p) => p.name === name && (p as { reusable?: boolean }).reusable !== false)
    const ids = new Set(copies.map((p) => p.id))
    if (ids.size !== 1) return undefined
    const parsed = AccessPolicy.safeParse(copies[0])
    if (!parsed.success || !Array.isArray((copies[0] as { include?: unknown }).include)) return undefined
    out.push(parsed.data)
  }
  return out
}

/** AUD per protected host from the apps that exist (owned first, else any app at that host). */
export function existingAuds(apps: readonly AccessApp[], hosts: readonly DesiredHost[]): Map<string, string> {
  const auds = new Map<string, string>()
  const index = appsByHost(apps)
  for (const h of hosts) {
    if (h.access !== 'protected') continue
    const at = index.get(h.host) ?? []
    const app = at.find(isOwnedApp) ?? at[0]
    if (app?.aud) auds.set(h.host, app.aud)
  }
  return auds
}

export function appBody(host: string, policyId: string, ids: Identities, existing?: AccessApp): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(existing ?? {})) if (!READ_ONLY.includes(k)) kept[k] = v
  return {
    ...kept,
    name: appName(host),
    type: 'self_hosted',
    domain: host,
    destinations: [{ type: 'public', uri: host }],
    session_duration: existing?.session_duration ?? SESSION_DURATION,
    policies: [{ id: policyId, precedence: 1 }],
    ...(ids.idpId ? { allowed_idps: [ids.idpId], auto_redirect_to_identity: true } : {}),
  }
}

/** What differs between an app and what Stackyard wants of it (empty: nothing). */
function appDiff(app: AccessApp, host: string, policyId: string | undefined, ids: Identities): string[] {
  const out: string[] = []
  if (app.name !== appName(host)) out.push(`name "${app.name}" → "${appName(host)}"`)
  if (app.type !== 'self_hosted') out.push(`type ${app.type} → self_hosted`)
  if (fqdn(app.domain ?? '') !== host) out.push(`domain ${app.domain} → ${host}`)
  const uris = (app.destinations ?? []).map((d) => d.uri)
  if (uris.length !== 1 || fqdn(uris[0] ?? '') !== host) out.push('destinations')
  const policies = (app.policies ?? []).map((p) => p.id)
  if (policies.length !== 1 || policies[0] !== policyId) out.push(policyId ? 'policies' : 'policies (new policy)')
  if (ids.idpId && (stableJson(app.allowed_idps ?? []) !== stableJson([ids.idpId]) || app.auto_redirect_to_identity !== true)) out.push('identity provider')
  return out
}

function policyDiff(p: AccessPolicy, want: Record<string, unknown>): string[] {
  const out: string[] = []
  if (p.decision !== want.decision) out.push(`decision ${p.decision} → ${want.decision}`)
  const sort = (rules: unknown[]) => rules.map((r) => stableJson(r)).sort().join(',')
  if (sort(p.include) !== sort(want.include as unknown[])) out.push('include')
  if ((p.exclude ?? []).length) out.push('exclude cleared')
  if ((p.require ?? []).length) out.push('require cleared')
  return out
}

function describeInclude(ids: Identities): string {
  const parts = [ids.emails.length ? `${ids.emails.length} email${ids.emails.length === 1 ? '' : 's'}` : '', ids.emailDomain ? `@${ids.emailDomain}` : ''].filter(Boolean)
  return parts.join(' and ')
}

export function planAccess(
  input: { org?: AccessOrganization; apps: readonly AccessApp[]; policies: readonly AccessPolicy[]; hosts: readonly DesiredHost[]; domain: string; identities: Identities },
  opts: AccessOptions = {},
): AccessPlan {
  const changes: Change[] = []
  const problems: Problem[] = []
  const warnings: string[] = []
  const change = (op: Change['op'], key: string, detail: string) => changes.push({ area: 'access', op, key, detail })
  const { hosts, identities: ids } = input
  const protectedHosts = hosts.filter((h) => h.access === 'protected')
  const bypassHosts = hosts.filter((h) => h.access === 'bypass')
  if (protectedHosts.length && !ids.emails.length && !ids.emailDomain)
    throw new ConfigError(
      `${protectedHosts.length} route${protectedHosts.length === 1 ? ' is' : 's are'} declared protected (${protectedHosts.map((h) => h.host).join(', ')}), but no one would be let in: CLOUDFLARE_ACCESS_EMAILS and CLOUDFLARE_ACCESS_EMAIL_DOMAIN are both empty`,
      { field: 'CLOUDFLARE_ACCESS_EMAILS', hint: 'set CLOUDFLARE_ACCESS_EMAILS=you@example.com (comma-separated) and/or CLOUDFLARE_ACCESS_EMAIL_DOMAIN=example.com in .env; Stackyard never opens a protected route to everyone' },
    )
  const plan: AccessPlan = { policyOps: [], policyIds: {}, appOps: [], auds: new Map(), changes, problems, warnings }
  if (input.org) {
    plan.authDomain = input.org.auth_domain
    plan.teamName = teamNameOf(input.org.auth_domain)
  }

  const ensurePolicy = (role: PolicyRole, want: Record<string, unknown>, describe: string) => {
    const found = input.policies.filter((p) => p.name === want.name)
    if (found.length > 1) warnings.push(`${found.length} reusable Access policies are named "${want.name}"; Stackyard uses the first`)
    const p = found[0]
    if (!p) {
      plan.policyOps.push({ kind: 'create', role, body: want })
      change('+', `policy "${want.name}"`, describe)
      return
    }
    plan.policyIds[role] = p.id
    const diff = policyDiff(p, want)
    if (diff.length) {
      plan.policyOps.push({ kind: 'update', role, id: p.id, body: want })
      change('~', `policy "${want.name}"`, `${diff.join(', ')} (${describe})`)
    } else change('=', `policy "${want.name}"`, describe)
  }
  if (protectedHosts.length) ensurePolicy('allow', allowPolicyBody(ids), `allow ${describeInclude(ids)}`)
  if (bypassHosts.length) ensurePolicy('bypass', bypassPolicyBody(), 'bypass for everyone (routes declared access: bypass)')

  const index = appsByHost(input.apps)
  const appsAt = (host: string) => index.get(host) ?? []
  const handledApps = new Set<string>()
  for (const h of hosts) {
    const at = appsAt(h.host)
    at.forEach((a) => handledApps.add(a.id))
    const owned = at.find(isOwnedApp)
    const foreign = at.find((a) => !isOwnedApp(a))
    if (h.access === 'public') {
      if (owned) {
        plan.appOps.push({ kind: 'delete', host: h.host, id: owned.id, name: owned.name })
        change('-', h.host, `app "${owned.name}" deleted (the route is declared public)`)
      }
      if (foreign) warnings.push(`${h.host} is declared public, but the Access app "${foreign.name}" (not managed by Stackyard) protects it`)
      continue
    }
    const role: PolicyRole = h.access === 'bypass' ? 'bypass' : 'allow'
    if (h.access === 'bypass') warnings.push(`${h.host} is declared access: bypass: Cloudflare Access lets everyone in`)
    const target = owned ?? (opts.force ? foreign : undefined)
    if (!target && foreign) {
      if (foreign.aud && h.access === 'protected') plan.auds.set(h.host, foreign.aud)
      change('=', h.host, `app "${foreign.name}" not managed by Stackyard (kept${h.access === 'protected' ? '; its AUD is used' : ''}; --force takes it over)`)
      if (h.access === 'protected' && (foreign.policies ?? []).some(opensToEveryone))
        problems.push({ area: 'access', key: h.host, message: `declared protected, but its Access app "${foreign.name}" has a policy that lets everyone in`, hint: 'remove that policy in the dashboard, or run with --force to replace the app\'s policies' })
      continue
    }
    if (!target) {
      plan.appOps.push({ kind: 'create', host: h.host, role, body: appBody(h.host, plan.policyIds[role] ?? '', ids) })
      change('+', h.host, `self-hosted app "${appName(h.host)}" (${role === 'allow' ? ALLOW_POLICY : BYPASS_POLICY})`)
      continue
    }
    if (target.aud && h.access === 'protected') plan.auds.set(h.host, target.aud)
    const diff = appDiff(target, h.host, plan.policyIds[role], ids)
    const opened = h.access === 'protected' && (target.policies ?? []).some(opensToEveryone)
    if (diff.length) {
      plan.appOps.push({ kind: 'update', host: h.host, role, id: target.id, body: appBody(h.host, plan.policyIds[role] ?? '', ids, target) })
      change('~', h.host, `${diff.join(', ')}${opened ? ' (its policy letting everyone in is replaced)' : ''}${target === owned ? '' : ' (taken over; --force)'}`)
    } else change('=', h.host, `app "${target.name}"`)
  }
  const wanted = new Set(hosts.map((h) => h.host))
  for (const app of input.apps) {
    if (handledApps.has(app.id) || !isOwnedApp(app)) continue
    const appHosts = hostsOf(app)
    if (!appHosts.length || !appHosts.every((x) => underDomain(x, input.domain) && !wanted.has(x))) continue
    if (opts.prune) {
      plan.appOps.push({ kind: 'delete', host: appHosts[0], id: app.id, name: app.name })
      change('-', appHosts[0], `app "${app.name}": no longer declared (--prune)`)
    } else change('=', appHosts[0], `app "${app.name}": no longer declared (kept; --prune removes it)`)
  }
  return plan
}
