// Setup step 4, Cloudflare (public environment only): none; an existing tunnel's token (cloudflared runs with it,
// hostnames are routed in the dashboard); or an API token, with which the tunnel, its ingress, DNS and Access are set
// up through the Cloudflare libraries. The plan is read (never written) for the review; the actions run after it.
import { readCloudflareConfig, desiredHosts } from '../../cloudflare/config.ts'
import { openSession } from '../../cloudflare/session.ts'
import { planReconcile } from '../../cloudflare/reconcile.ts'
import { renderPlan } from '../../cloudflare/diff.ts'
import { reconcileTask, storeTunnelToken } from '../../cloudflare/reconcile-tasks.ts'
import type { FlagDecls } from '../../core/flags.ts'
import { activeRoutes } from '../../model/routes.ts'
import { readSettings } from '../../model/settings.ts'
import type { TaskContext } from '../../task/task.ts'
import { CLOUDFLARE_MODES, type CloudflareMode, type SetupContext } from '../context.ts'
import { emailsProblem, requiredProblem } from '../validate.ts'

type Ctx = Pick<SetupContext, 'answers' | 'current' | 'given' | 'givenSecrets' | 'shell' | 'registry' | 'decide' | 'secret' | 'ask' | 'setEnv' | 'planned' | 'previews' | 'actions' | 'next' | 'log'>

const SCOPE = { access: true, ingress: true, dns: true }

/** What the Cloudflare libraries will read: the shell first (as the tasks do), then the files as they will be. */
function lookup(ctx: Pick<Ctx, 'shell' | 'planned'>): (k: string) => string | undefined {
  const values = ctx.planned()
  return (k) => ctx.shell(k) || values[k]
}

export async function cloudflare(ctx: Ctx): Promise<void> {
  if (ctx.answers.environment !== 'public') return
  const has = (k: string) => Boolean(ctx.givenSecrets[k] || ctx.shell(k))
  const mode = await ctx.decide<CloudflareMode>({
    key: 'cloudflare',
    flag: `--cloudflare ${CLOUDFLARE_MODES.join('|')}`,
    what: 'how the domain reaches this machine (public environment)',
    current: ctx.current.cloudflare,
    fallback: has('CLOUDFLARE_API_TOKEN') ? 'api-token' : has('CLOUDFLARE_TUNNEL_TOKEN') ? 'tunnel-token' : undefined,
    prompt: (initial) =>
      ctx.ask.select<CloudflareMode>({
        message: 'Cloudflare',
        options: [
          { value: 'api-token', label: 'API token', hint: 'Stackyard creates the tunnel, its hostnames, DNS records and Access apps' },
          { value: 'tunnel-token', label: 'An existing tunnel token', hint: 'you route the hostnames in the Zero Trust dashboard' },
          { value: 'none', label: 'None', hint: 'you connect the domain to this machine yourself' },
        ],
        initialValue: initial,
      }),
  })
  if (!mode) return
  ctx.answers.cloudflare = mode
  if (mode === 'tunnel-token') return tunnelToken(ctx)
  if (mode === 'api-token') return apiToken(ctx)
}

async function tunnelToken(ctx: Ctx): Promise<void> {
  const token = await ctx.secret('CLOUDFLARE_TUNNEL_TOKEN', {
    message: 'Tunnel token (Zero Trust → Networks → Tunnels → your tunnel → the token in the install command)',
    what: 'the token of your Cloudflare Tunnel (cloudflared runs with it)',
    validate: requiredProblem,
  })
  if (token) ctx.setEnv('CLOUDFLARE_TUNNEL_TOKEN', token, { secret: true })
  ctx.next.push(() => {
    const values = ctx.planned()
    const settings = readSettings(values)
    const d = desiredHosts(ctx.registry, settings, values)
    return `in the Zero Trust dashboard, give your tunnel a public hostname per service, each to ${d.proxyUrl}: ${d.hosts.map((h) => h.host).join(', ')} (with an API token, setup does this: --cloudflare api-token)`
  })
}

async function apiToken(ctx: Ctx): Promise<void> {
  const token = await ctx.secret('CLOUDFLARE_API_TOKEN', {
    message: 'Cloudflare API token (Tunnel edit, Access edit, DNS edit, Zone read; see README "Cloudflare")',
    what: 'a Cloudflare API token that may set up the tunnel, DNS and Access',
    validate: requiredProblem,
  })
  if (token) ctx.setEnv('CLOUDFLARE_API_TOKEN', token, { secret: true })
  const values = ctx.planned()
  const protectedRoutes = activeRoutes(ctx.registry, readSettings(values), values).filter((r) => r.access === 'protected')
  const domainRule = ctx.given.accessEmailDomain ?? ctx.current.accessEmailDomain
  if (ctx.given.accessEmailDomain) ctx.setEnv('CLOUDFLARE_ACCESS_EMAIL_DOMAIN', ctx.given.accessEmailDomain.toLowerCase().replace(/^@/, ''))
  if (protectedRoutes.length && (ctx.given.accessEmails || !domainRule)) {
    const emails = await ctx.decide<string>({
      key: 'accessEmails',
      flag: '--access-emails EMAILS',
      what: `who Cloudflare Access lets into the protected services (${protectedRoutes.map((r) => r.subdomain).join(', ')}); or --access-email-domain`,
      current: ctx.current.accessEmails,
      prompt: async (initial) => (await ctx.ask.text({ message: 'Who may open the protected services? (email addresses, comma-separated)', initialValue: initial, validate: emailsProblem })).trim(),
    })
    if (emails) ctx.setEnv('CLOUDFLARE_ACCESS_EMAILS', emails.split(/[\s,]+/).filter(Boolean).join(','))
  }
  ctx.previews.push(() => previewCloudflare(ctx))
  ctx.actions.push(
    { title: 'Cloudflare: the tunnel (created if missing), its token stored in .env', resume: ['npx zx tasks/00-infrastructure/cloudflare/tunnel.ts'], run: (a) => storeTunnel(a.task()) },
    {
      title: 'Cloudflare: Access apps, tunnel ingress and DNS records for the routed hostnames',
      resume: ['npx zx tasks/00-infrastructure/cloudflare/apply.ts'],
      async run(a) {
        if (await reconcileTask(a.task(), SCOPE, { confirm: false }))
          a.problems.push('Cloudflare: problems are left (marked ! in the plan above); fix them, then run npx zx tasks/00-infrastructure/cloudflare/apply.ts')
      },
    },
  )
}

/** The plan the apply will carry out, read with the answers' token (nothing is written). */
export async function previewCloudflare(ctx: Pick<Ctx, 'shell' | 'planned' | 'registry'>): Promise<string> {
  const values = ctx.planned()
  const settings = readSettings(values)
  const config = readCloudflareConfig(lookup(ctx), settings)
  const desired = desiredHosts(ctx.registry, settings, values)
  const session = openSession({ config })
  const tunnel = await session.findTunnel()
  if (!tunnel)
    return [`Cloudflare: the tunnel "${config.tunnelName}" does not exist yet; it is created, then each hostname gets its ingress rule, DNS record and Access app:`, ...desired.hosts.map((h) => `  + ${h.host} (${h.access})`)].join('\n')
  const plan = await planReconcile(session, desired, SCOPE, config.access)
  return [`Cloudflare (tunnel "${tunnel.name}" exists):`, renderPlan(plan.changes, plan.problems, plan.headers), ...plan.warnings.map((w) => `▲ ${w}`)].join('\n')
}

/** The tunnel task's work without its report: ensure the tunnel, store its token when it differs. */
export async function storeTunnel(t: TaskContext<FlagDecls>): Promise<void> {
  const { ensured: r, config, stored } = await storeTunnelToken(t)
  if (!r.tunnel || !r.token) return
  t.log.success(`tunnel "${config.tunnelName}" ${r.created ? 'created' : 'exists'}; its token ${stored ? 'is already in .env' : 'is stored in .env'}`)
}
