// Reconciliation of Access, tunnel ingress and DNS with the registry: read everything once, plan with the pure
// planners, then apply in an order that never leaves a host reachable without its Access app (see applyReconcile). Every
// write is a request the plan listed; no env reads: the session and desired state are passed in.
import { FailureError } from '../core/errors.ts'
import { CloudflareApiError, type DnsBatch, type DnsRecord, type TunnelConfiguration } from './client.ts'
import type { Desired } from './config.ts'
import type { Session, TunnelRef, ZoneRef } from './session.ts'
import { existingAuds, planAccess, policiesFromApps, teamNameOf, type AccessPlan, type Identities, type PolicyRole } from './access.ts'
import { assertRemotelyManaged, planIngress, type HostAccess, type IngressPlan } from './ingress.ts'
import { planDns, tunnelTarget, type DnsOp, type DnsPlan } from './dns.ts'
import type { Area, Change, Problem } from './diff.ts'
import type { AccessApp, AccessOrganization, AccessPolicy } from './client.ts'

export interface Scope {
  access?: boolean
  ingress?: boolean
  dns?: boolean
}

export interface ReconcileOptions {
  prune?: boolean
  force?: boolean
  /** hosts to remove (routes/dns --remove) */
  remove?: readonly string[]
}

export interface Plan {
  scope: Scope
  desired: Desired
  opts: ReconcileOptions
  accountId: string
  zone?: ZoneRef
  tunnel?: TunnelRef
  /** the configuration read at plan time */
  tunnelConfig?: TunnelConfiguration
  /** when it was read (Date.now()): a read younger than FRESH_MS is not read again before the PUT */
  tunnelConfigReadAt?: number
  access?: AccessPlan
  ingress?: IngressPlan
  dns?: DnsPlan
  /** team name and AUD per protected host known at plan time (for the ingress of routes-only runs) */
  hostAccess: Map<string, HostAccess>
  authDomain?: string
  changes: Change[]
  problems: Problem[]
  warnings: string[]
  headers: Partial<Record<Area, string>>
  /** does applying it send any write? */
  writes: boolean
}

/**
 * How long a configuration read at plan time counts as fresh: within it the PUT follows without reading the
 * configuration again (the version check costs a request and the window for a concurrent edit is this short);
 * after it (say the user sat at the confirmation) the configuration is read again and a changed version aborts.
 */
export const FRESH_MS = 10_000

/** Placeholder AUD of an app the plan creates (replaced by the real one before the ingress is written). */
export const PENDING_AUD = '(AUD of the new app)'

export async function planReconcile(s: Session, desired: Desired, scope: Scope, identities: Identities, opts: ReconcileOptions = {}): Promise<Plan> {
  const needsTunnel = scope.ingress || scope.dns
  const protectedHosts = desired.hosts.filter((h) => h.access === 'protected')
  const needsApps = scope.access || (scope.ingress && protectedHosts.length > 0)

  // each read takes its IDs from the session, trusted when configured or remembered; a stale remembered ID is
  // rediscovered once (Session.fresh)
  let tunnel: TunnelRef | undefined
  let tunnelConfig: TunnelConfiguration | undefined
  let tunnelConfigReadAt: number | undefined
  if (scope.ingress)
    tunnelConfig = await s.fresh('tunnel', async () => {
      tunnel = await s.tunnelRef()
      const c = await s.cf.tunnelConfiguration(await s.account(), tunnel.id)
      tunnelConfigReadAt = Date.now()
      return c
    })
  else if (needsTunnel) tunnel = await s.tunnelRef()
  if (tunnel && tunnelConfig) assertRemotelyManaged(tunnelConfig, `"${tunnel.name}"`)
  let org: AccessOrganization | undefined
  let apps: AccessApp[] = []
  let policies: AccessPolicy[] = []
  if (needsApps) {
    apps = await s.fresh('account', async () => s.cf.accessApps(await s.account()))
    if (protectedHosts.length) {
      const known = s.knownAuthDomain()
      org = known ? { auth_domain: known } : await organization(s, await s.account())
      s.noteAuthDomain(org.auth_domain)
    }
    // the reusable policies: the apps embed the ones they use; the list is read only when they do not show them all
    if (scope.access) {
      const roles = [...(protectedHosts.length ? (['allow'] as const) : []), ...(desired.hosts.some((h) => h.access === 'bypass') ? (['bypass'] as const) : [])]
      if (roles.length) policies = policiesFromApps(apps, roles) ?? (await s.cf.accessPolicies(await s.account()))
    }
  }
  let zone: ZoneRef | undefined
  let records: DnsRecord[] = []
  if (scope.dns)
    records = await s.fresh('zone', async () => {
      zone = await s.zone()
      return s.cf.dnsRecords(zone.id)
    })
  // after a rediscovery the IDs are the new ones
  if (needsTunnel) tunnel = await s.tunnelRef()
  const accountId = await s.account()

  const plan: Plan = { scope, desired, opts, accountId, zone, tunnel, tunnelConfig, tunnelConfigReadAt, hostAccess: new Map(), changes: [], problems: [], warnings: [], headers: {}, writes: false }
  if (scope.access) {
    const access = planAccess({ org, apps, policies, hosts: desired.hosts, domain: desired.domain, identities }, { prune: opts.prune, force: opts.force })
    plan.access = access
    plan.authDomain = access.authDomain
    plan.headers.access = `account ${accountId.slice(0, 8)}…${access.authDomain ? `, team ${access.authDomain}` : ''}`
    for (const [host, aud] of access.auds) if (access.teamName) plan.hostAccess.set(host, { teamName: access.teamName, aud })
    // the ingress of an app this plan creates is shown with a placeholder AUD
    for (const op of access.appOps) if (op.kind === 'create' && op.role === 'allow' && access.teamName) plan.hostAccess.set(op.host, { teamName: access.teamName, aud: PENDING_AUD })
  } else if (needsApps && org) {
    plan.authDomain = org.auth_domain
    for (const [host, aud] of existingAuds(apps, desired.hosts)) plan.hostAccess.set(host, { teamName: teamNameOf(org.auth_domain), aud })
  }
  if (scope.ingress && tunnel && tunnelConfig) {
    plan.ingress = planIngress(tunnelConfig, desired, plan.hostAccess, opts)
    plan.headers.ingress = `tunnel ${tunnel.name}, version ${tunnelConfig.version}`
  }
  if (scope.dns && tunnel && zone) {
    plan.dns = planDns(records, desired.hosts.map((h) => h.host), tunnelTarget(tunnel.id), desired.domain, opts)
    plan.headers.dns = `zone ${zone.name}`
  }
  for (const p of [plan.access, plan.ingress, plan.dns]) {
    if (!p) continue
    plan.changes.push(...p.changes)
    plan.problems.push(...p.problems)
  }
  if (plan.access) plan.warnings.push(...plan.access.warnings)
  plan.writes = Boolean(plan.ingress?.changed) || (plan.access?.policyOps.length ?? 0) > 0 || (plan.access?.appOps.length ?? 0) > 0 || (plan.dns?.ops.length ?? 0) > 0
  return plan
}

async function organization(s: Session, accountId: string): Promise<AccessOrganization> {
  try {
    return await s.cf.accessOrganization(accountId)
  } catch (err) {
    if (err instanceof CloudflareApiError && err.status === 404)
      throw new FailureError('Cloudflare Zero Trust is not set up in this account (no Access organization, so no team domain)', {
        hint: 'open Zero Trust in the dashboard once and choose a team name, then run again',
      })
    throw err
  }
}

export interface ApplyResult {
  /** write requests sent (0 under --dry-run) */
  writes: number
  /** AUD per protected host after the run */
  auds: Map<string, string>
  authDomain?: string
  failures: string[]
}

/**
 * Applies a plan: policies and apps first (their AUD feeds the ingress), the ingress (after checking that nobody
 * changed it since it was read, unless that read is fresh), then DNS as one atomic batch per step; removals run the
 * other way round (DNS, ingress, then apps). Throws on a concurrent ingress edit; collects DNS failures and reports
 * them together.
 */
export async function applyReconcile(s: Session, plan: Plan, opts: { dryRun?: boolean; log?: { info(m: string): void } } = {}): Promise<ApplyResult> {
  const { accountId } = plan
  const cf = s.cf
  let writes = 0
  const wrote = <T>(v: T) => {
    if (!opts.dryRun) writes++
    return v
  }
  const auds = new Map<string, string>()
  for (const [host, a] of plan.hostAccess) if (a.aud !== PENDING_AUD) auds.set(host, a.aud)
  const failures: string[] = []
  const declared = new Map(plan.desired.hosts.map((h) => [h.host, h]))

  // 1. Access: reusable policies, then apps (their AUD feeds the ingress)
  const access = plan.access
  const policyIds: Partial<Record<PolicyRole, string>> = { ...access?.policyIds }
  if (access) {
    for (const op of access.policyOps) {
      const p = wrote(op.kind === 'create' ? await cf.createAccessPolicy(accountId, op.body) : await cf.updateAccessPolicy(accountId, op.id, op.body))
      policyIds[op.role] = p?.id ?? (op.kind === 'update' ? op.id : `(new policy "${String(op.body.name)}")`)
    }
    for (const op of access.appOps) {
      if (op.kind === 'delete') continue
      const body = { ...op.body, policies: [{ id: policyIds[op.role], precedence: 1 }] }
      const app = wrote(op.kind === 'create' ? await cf.createAccessApp(accountId, body) : await cf.updateAccessApp(accountId, op.id, body))
      const host = op.host
      if (declared.get(host)?.access === 'protected') {
        if (app?.aud) auds.set(host, app.aud)
        else if (!opts.dryRun) throw new FailureError(`the Access app for ${host} came back without an AUD tag`, { hint: 'run again; if it persists, check the app in the dashboard' })
      }
    }
  }
  const teamName = access?.teamName ?? [...plan.hostAccess.values()][0]?.teamName
  const hostAccess = new Map<string, HostAccess>()
  for (const [host, aud] of auds) if (teamName) hostAccess.set(host, { teamName, aud })
  if (opts.dryRun && access?.teamName) for (const op of access.appOps) if (op.kind === 'create' && op.role === 'allow') hostAccess.set(op.host, { teamName: access.teamName, aud: PENDING_AUD })

  // 2. DNS removals before the ingress loses the rule
  const dnsOps = plan.dns?.ops ?? []
  const isDelete = (o: DnsOp) => o.kind === 'delete'
  await runDns(s, plan, dnsOps.filter(isDelete), failures, () => wrote(undefined), isDelete)

  // 3. Ingress: recompute with the real AUDs, check nobody changed it since the plan, PUT the whole document
  if (plan.ingress && plan.tunnel && plan.tunnelConfig) {
    const next = planIngress(plan.tunnelConfig, plan.desired, hostAccess, plan.opts)
    if (next.changed) {
      const age = Date.now() - (plan.tunnelConfigReadAt ?? 0)
      if (!opts.dryRun && age >= FRESH_MS) {
        const fresh = await cf.tunnelConfiguration(accountId, plan.tunnel.id)
        if (fresh.version !== plan.tunnelConfig.version)
          throw new FailureError(
            `the tunnel configuration of "${plan.tunnel.name}" changed while Stackyard was planning (version ${plan.tunnelConfig.version} → ${fresh.version}); the ingress was not written`,
            { hint: 'someone (or another run) edited it at the same time: run again to plan against the new configuration' },
          )
      }
      wrote(await cf.putTunnelConfiguration(accountId, plan.tunnel.id, next.config))
    }
  }

  // 4. DNS creations and updates (the rule exists now)
  await runDns(s, plan, dnsOps.filter((o) => !isDelete(o)), failures, () => wrote(undefined), (o) => !isDelete(o))

  // 5. Apps of routes no longer protected, last
  if (access)
    for (const op of access.appOps) {
      if (op.kind !== 'delete') continue
      await cf.deleteAccessApp(accountId, op.id)
      wrote(undefined)
      auds.delete(op.host)
    }
  return { writes, auds, authDomain: access?.authDomain ?? plan.authDomain, failures }
}

/**
 * Sends DNS operations as one batch (POST /zones/{z}/dns_records/batch: one request, all or nothing). When Cloudflare
 * refuses it because a record appeared since the read (81053/81054/81057/81058), the zone is read again and the
 * operations still needed are planned and sent once more: "already exists as wanted" is success. Failures are
 * collected, not thrown (the ingress and Access steps have happened already).
 */
async function runDns(s: Session, plan: Plan, all: DnsOp[], failures: string[], count: () => void, pick: (o: DnsOp) => boolean): Promise<void> {
  // a batch holds at most BATCH_LIMIT changes (the Free plan's limit): more go as several batches, each atomic
  for (let i = 0; i < all.length; i += BATCH_LIMIT) await runBatch(s, plan, all.slice(i, i + BATCH_LIMIT), failures, count, pick)
}

/** Changes per DNS batch: 200 on the Free plan (3,500 on paid plans). */
export const BATCH_LIMIT = 200

async function runBatch(s: Session, plan: Plan, ops: DnsOp[], failures: string[], count: () => void, pick: (o: DnsOp) => boolean): Promise<void> {
  const zone = plan.zone
  if (!zone || !ops.length) return
  const send = async (batch: DnsOp[]) => {
    await s.cf.batchDnsRecords(zone.id, toBatch(batch))
    count()
  }
  // a refusal (4xx) means nothing was applied; a 5xx or a lost reply leaves it unknown
  const describe = (batch: DnsOp[], err: unknown) =>
    `${batch.map((o) => `${o.kind} ${o.host}`).join(', ')} (one batch, ${err instanceof CloudflareApiError && err.status < 500 ? 'nothing applied' : 'maybe not applied; a re-run reads the zone again'}): ${(err as Error).message}`
  try {
    await send(ops)
  } catch (err) {
    if (!(err instanceof CloudflareApiError && err.has(81053, 81054, 81057, 81058) && plan.tunnel)) {
      failures.push(describe(ops, err))
      return
    }
    try {
      const now = await s.cf.dnsRecords(zone.id)
      const mine = new Set(ops.map((o) => o.host))
      const again = planDns(now, plan.desired.hosts.map((h) => h.host), tunnelTarget(plan.tunnel.id), plan.desired.domain, plan.opts).ops.filter((o) => pick(o) && mine.has(o.host))
      if (again.length) await send(again)
    } catch (retry) {
      failures.push(describe(ops, retry))
    }
  }
}

/** DNS operations as the batch endpoint's groups. */
export function toBatch(ops: readonly DnsOp[]): DnsBatch {
  const batch: Required<Pick<DnsBatch, 'deletes' | 'puts' | 'posts'>> = { deletes: [], puts: [], posts: [] }
  for (const op of ops) {
    if (op.kind === 'delete') batch.deletes.push({ id: op.id })
    else if (op.kind === 'update') batch.puts.push({ id: op.id, ...op.record })
    else batch.posts.push(op.record)
  }
  return batch
}

/** .env changes recording each protected service's AUD and the team domain (only what differs). */
export function accessEnvChanges(desired: Desired, result: Pick<ApplyResult, 'auds' | 'authDomain'>, current: Record<string, string | undefined>): Record<string, string | null> {
  const changes: Record<string, string | null> = {}
  for (const h of desired.hosts) {
    const aud = h.access === 'protected' ? result.auds.get(h.host) : undefined
    if (aud && current[h.audEnv] !== aud) changes[h.audEnv] = aud
    if (!aud && h.access !== 'protected' && current[h.audEnv] !== undefined) changes[h.audEnv] = null
  }
  if (result.authDomain && desired.hosts.some((h) => h.access === 'protected') && current.CLOUDFLARE_AUTH_DOMAIN !== result.authDomain) changes.CLOUDFLARE_AUTH_DOMAIN = result.authDomain
  return changes
}
