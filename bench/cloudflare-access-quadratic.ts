// Benchmark baseline only, never product code: the Access planner as it was before apps were indexed by host
// (lib/cloudflare/access.ts planAccess), comparing every declared host with every app (hosts × apps). Kept verbatim
// so bench/cloudflare.bench.ts can measure the indexed planner against it in the same run.
import { ConfigError } from '../lib/core/errors.ts'
import type { AccessApp, AccessPolicy } from '../lib/cloudflare/client.ts'
import { fqdn, underDomain } from '../lib/cloudflare/config.ts'
import type { Change, Problem } from '../lib/cloudflare/diff.ts'
import { stableJson } from '../lib/cloudflare/ingress.ts'
import { ALLOW_POLICY, BYPASS_POLICY, allowPolicyBody, appBody, appName, bypassPolicyBody, isOwnedApp, opensToEveryone, teamNameOf, type AccessOptions, type AccessPlan, type Identities, type PolicyRole } from '../lib/cloudflare/access.ts'
import type { AccessOrganization } from '../lib/cloudflare/client.ts'
import type { DesiredHost } from '../lib/cloudflare/config.ts'

const hostsOf = (app: AccessApp): string[] => {
  const uris = [app.domain, ...(app.destinations ?? []).map((d) => d.uri)].filter((u): u is string => Boolean(u))
  return [...new Set(uris.map((u) => fqdn(u.replace(/^https?:\/\//, '').replace(/\/.*$/, ''))))]
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

export function planAccessQuadratic(
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

  const appsAt = (host: string) => input.apps.filter((a) => hostsOf(a).includes(host))
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
