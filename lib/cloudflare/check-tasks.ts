// Task glue for the Cloudflare tasks that report rather than reconcile: dns --check, aud-tag, check
// (zone settings, with --fix / --purge). Reads ctx (passed in), throws typed errors; never exits.
import { FailureError, UsageError } from '../core/errors.ts'
import { table, plural } from '../core/format.ts'
import { color } from '../core/log.ts'
import { fqdn } from './config.ts'
import { existingAuds, isOwnedApp } from './access.ts'
import { planReconcile } from './reconcile.ts'
import { cloudflareSetup, type CloudflareTaskContext } from './reconcile-tasks.ts'
import { applyZoneFixes, evaluateRules, evaluateSettings, readZone, type ZoneFinding } from './zone.ts'

/** dns --check: missing, wrong, unproxied and conflicting records; exit 1 when any. */
export async function dnsCheckTask(ctx: CloudflareTaskContext): Promise<number> {
  const { config, desired, session } = cloudflareSetup(ctx)
  const plan = await planReconcile(session, desired, { dns: true }, config.access)
  const states = plan.dns?.hosts ?? []
  const bad = states.filter((s) => s.state !== 'ok')
  if (ctx.json) ctx.out({ ok: bad.length === 0, zone: plan.zone?.name, hosts: states })
  else if (states.length)
    ctx.out(table([['host', 'state', 'detail'], ...states.map((s) => [s.host, s.state === 'ok' ? color.green('ok') : color.red(s.state), s.detail + (s.owned === false ? ' (not managed by Stackyard)' : '')])]))
  else ctx.out('no routed hosts: nothing to check')
  if (bad.length) {
    ctx.log.error(`${plural(bad.length, 'host')} not routed correctly: ${bad.map((s) => `${s.host} (${s.state})`).join(', ')}`)
    ctx.log.info('fix: npx zx tasks/00-infrastructure/cloudflare/dns.ts (conflicts need a change in the dashboard or --force)')
    return 1
  }
  if (states.length) ctx.log.success(`${plural(states.length, 'host')}: proxied CNAME to the tunnel`)
  return 0
}

/** aud-tag HOST: the AUD of the Access app at HOST, on stdout. */
export async function audTagTask(ctx: CloudflareTaskContext, arg: string): Promise<number> {
  const { session, desired } = cloudflareSetup(ctx)
  const host = arg.includes('.') ? fqdn(arg) : `${fqdn(arg)}.${desired.domain}`
  if (!/^[a-z0-9.-]+$/.test(host)) throw new UsageError(`"${arg}" is not a hostname`, { hint: 'pass a hostname (n8n.example.com) or a subdomain of DOMAIN (n8n)' })
  const account = await session.account()
  const apps = await session.cf.accessApps(account)
  const aud = existingAuds(apps, [{ host, service: '', stack: '', access: 'protected', audEnv: '' }]).get(host)
  if (!aud)
    throw new FailureError(`no Cloudflare Access application protects ${host}`, { hint: 'declare the route access: protected and run npx zx tasks/00-infrastructure/cloudflare/access.ts' })
  const app = apps.find((a) => a.aud === aud)!
  if (ctx.json) ctx.out({ host, aud, app: { id: app.id, name: app.name, managed: isOwnedApp(app) } })
  else ctx.out(aud)
  return 0
}

/** check: zone settings and rules against the stance; --fix, --purge. */
export async function zoneCheckTask(ctx: CloudflareTaskContext, opts: { fix?: boolean; purge?: boolean }): Promise<number> {
  const { session, desired } = cloudflareSetup(ctx)
  const zone = await session.zone()
  const state = await readZone(session, zone.id)
  const findings: ZoneFinding[] = [...evaluateSettings(state.settings), ...evaluateRules(state, desired.hosts.map((h) => h.host))]
  for (const u of state.unreadable) ctx.log.warn(`not checked: ${u}`)
  const mark = (l: ZoneFinding['level']) => (l === 'ok' ? color.green('ok') : l === 'fail' ? color.red('fail') : l === 'warn' ? color.yellow('warn') : color.dim('info'))
  if (!ctx.json) {
    ctx.out(`Zone ${zone.name}`)
    ctx.out(table(findings.map((f) => [mark(f.level), f.id, f.message + (f.fix ? color.dim(` (--fix sets ${f.fix.value})`) : '')]), { indent: '  ' }))
    for (const f of findings) if (f.why && f.level !== 'ok') ctx.out(color.dim(`  ${f.id}: ${f.why}`))
  }
  let fixed = 0
  if (opts.fix) {
    fixed = await applyZoneFixes(session, zone.id, findings)
    if (!fixed) ctx.log.info('--fix: nothing the stance may change is off')
    else if (!ctx.dryRun) ctx.log.success(`--fix: set ${findings.filter((f) => f.fix).map((f) => `${f.fix!.setting}=${f.fix!.value}`).join(', ')}`)
  }
  if (opts.purge) {
    await session.cf.purgeEverything(zone.id)
    if (!ctx.dryRun) ctx.log.success(`purged the cache of ${zone.name}`)
  }
  const failed = findings.filter((f) => f.level === 'fail' && !(opts.fix && f.fix))
  if (ctx.json) ctx.out({ zone: zone.name, findings, unreadable: state.unreadable, fixed: ctx.dryRun ? 0 : fixed, purged: Boolean(opts.purge && !ctx.dryRun), ok: failed.length === 0 })
  const warned = findings.filter((f) => f.level === 'warn' && !(opts.fix && f.fix))
  if (failed.length) {
    ctx.log.error(`${plural(failed.length, 'check')} failed`)
    return 1
  }
  if (warned.length) ctx.log.warn(`${plural(warned.length, 'warning')}`)
  else ctx.log.success('zone settings match the stance')
  return 0
}
