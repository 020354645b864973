// Setup step 5, Infisical: none; the bundled instance (its compose profile switched on, started, bootstrapped, the
// secrets pushed); or an external instance with a machine identity (checked now, read-only; pushed to after the
// review). Writes STACKYARD_PROFILES (the optional services plus the bundled instance's profile).
import { FailureError, StackyardError } from '../../core/errors.ts'
import { INFISICAL_MODES, type InfisicalMode, type SetupContext } from '../context.ts'
import { openSession, readRemote } from '../../infisical/sync.ts'
import { adminPasswordProblem, emailProblem, requiredProblem, urlProblem } from '../validate.ts'
import { bootstrapAction, pushAction, startAction } from '../infisical-actions.ts'
import { commaList } from '../../core/format.ts'
import { routeUrl } from '../../model/routes.ts'

type Ctx = Pick<SetupContext, 'answers' | 'current' | 'files' | 'registry' | 'decide' | 'secret' | 'ask' | 'setEnv' | 'planned' | 'actions' | 'next' | 'log' | 'timeout'>

export const CONNECTION = ['INFISICAL_API_URL', 'INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'] as const

export async function infisical(ctx: Ctx, instanceProfile = 'infisical'): Promise<void> {
  const mode = await ctx.decide<InfisicalMode>({
    key: 'infisical',
    flag: `--infisical ${INFISICAL_MODES.join('|')}`,
    what: 'where the secrets are managed',
    current: ctx.current.infisical,
    fallback: 'none',
    prompt: (initial) =>
      ctx.ask.select<InfisicalMode>({
        message: 'Secrets manager (Infisical)',
        options: [
          { value: 'none', label: 'None', hint: 'the secrets stay in .env (mode 0600)' },
          { value: 'bundled', label: 'The bundled Infisical', hint: 'runs here, set up for you, the secrets pushed to it' },
          { value: 'external', label: 'An external Infisical', hint: 'its URL and a machine identity (universal auth)' },
        ],
        initialValue: initial,
      }),
  })
  if (!mode) return
  ctx.answers.infisical = mode
  writeProfiles(ctx, [...(ctx.answers.optional ?? ctx.current.optional ?? []), ...(mode === 'bundled' ? [instanceProfile] : [])])
  const leaving = ctx.current.infisical && ctx.current.infisical !== mode && ctx.current.infisical !== 'none'
  if (leaving) for (const k of CONNECTION) ctx.setEnv(k, null, { note: `was for the ${ctx.current.infisical} Infisical (kept in .env.bak)` })
  if (mode === 'bundled') await bundled(ctx, instanceProfile)
  if (mode === 'external') await external(ctx)
}

/** STACKYARD_PROFILES as a set: the current spelling is kept when the set is the same. */
function writeProfiles(ctx: Ctx, wanted: string[]): void {
  const now = commaList(ctx.files.dotEnv.STACKYARD_PROFILES)
  const same = now.length === wanted.length && wanted.every((p) => now.includes(p))
  ctx.setEnv('STACKYARD_PROFILES', same && 'STACKYARD_PROFILES' in ctx.files.dotEnv ? ctx.files.dotEnv.STACKYARD_PROFILES : [...new Set(wanted)].join(','), { pin: true })
}

async function bundled(ctx: Ctx, instanceProfile: string): Promise<void> {
  const e = ctx.files.effective
  const identity = ctx.current.infisical === 'bundled' && e.INFISICAL_CLIENT_ID && e.INFISICAL_CLIENT_SECRET && e.INFISICAL_PROJECT_ID
  let email: string | undefined
  let password: string | undefined
  if (!identity) {
    email = await ctx.decide<string>({
      key: 'infisicalEmail',
      flag: '--infisical-email EMAIL',
      what: 'the admin account of the bundled Infisical',
      prompt: async () => (await ctx.ask.text({ message: 'Admin email for Infisical', placeholder: 'you@example.com', validate: emailProblem })).trim(),
    })
    password = await ctx.secret('INFISICAL_ADMIN_PASSWORD', {
      message: 'Admin password for Infisical (14+ characters; it is not stored)',
      what: 'the admin password of the bundled Infisical (used once, not stored)',
      validate: adminPasswordProblem,
    })
    ctx.answers.infisicalEmail = email
  }
  const stack = ctx.registry.services.find((s) => s.profiles.includes(instanceProfile))?.stack
  if (!stack) throw new FailureError(`no service declares the compose profile "${instanceProfile}", so there is no bundled Infisical to start`, { hint: 'choose --infisical external or none' })
  ctx.actions.push(startAction(stack, ctx.timeout), bootstrapAction({ email, password, existing: Boolean(identity) }), pushAction({ bundled: true }))
  ctx.next.push(() => {
    const url = ctx.registry.routes.find((r) => ctx.registry.services.some((s) => s.name === r.service && s.profiles.includes(instanceProfile)))
    const values = ctx.planned()
    const site = url ? routeUrl(url, { environment: values.STACKYARD_ENVIRONMENT === 'public' ? 'public' : 'private', domain: values.DOMAIN }) : 'the Infisical route'
    return `Infisical: ${site}${email ? `, log in as ${email}` : ''}; change secrets there, then npx zx tasks/up.ts exports them to the stacks`
  })
}

async function external(ctx: Ctx): Promise<void> {
  const url = await ctx.decide<string>({
    key: 'infisicalUrl',
    flag: '--infisical-url URL',
    what: 'the URL of the external Infisical',
    current: ctx.current.infisicalUrl,
    prompt: async (initial) => (await ctx.ask.text({ message: 'Infisical URL', placeholder: 'https://infisical.example.com', initialValue: initial, validate: urlProblem })).trim(),
  })
  const clientId = await ctx.decide<string>({
    key: 'infisicalClientId',
    flag: '--infisical-client-id ID',
    what: 'the client ID of the machine identity (universal auth)',
    current: ctx.current.infisicalClientId,
    prompt: async (initial) => (await ctx.ask.text({ message: 'Client ID of the machine identity', initialValue: initial, validate: requiredProblem })).trim(),
  })
  const projectId = await ctx.decide<string>({
    key: 'infisicalProjectId',
    flag: '--infisical-project-id ID',
    what: 'the ID of the Infisical project to sync with',
    current: ctx.current.infisicalProjectId,
    prompt: async (initial) => (await ctx.ask.text({ message: 'Project ID', initialValue: initial, validate: requiredProblem })).trim(),
  })
  const secret = await ctx.secret('INFISICAL_CLIENT_SECRET', { message: 'Client secret of the machine identity', what: 'the client secret of the machine identity' })
  if (url) ctx.setEnv('INFISICAL_API_URL', url)
  if (clientId) ctx.setEnv('INFISICAL_CLIENT_ID', clientId)
  if (projectId) ctx.setEnv('INFISICAL_PROJECT_ID', projectId)
  if (secret) ctx.setEnv('INFISICAL_CLIENT_SECRET', secret, { secret: true })
  if (!url || !clientId || !projectId || !secret) return
  // read-only check now, so that credentials that do not work are never written
  try {
    const s = openSession({ values: ctx.planned(), registry: ctx.registry })
    await readRemote(s.client, s.scope)
    ctx.log.success(`Infisical at ${s.client.origin}: the machine identity can read ${s.scope.environment} of project ${projectId}`)
  } catch (err) {
    if (err instanceof StackyardError) throw new FailureError(`the external Infisical cannot be used: ${err.message}`, { hint: `${err.hint ? `${err.hint}; ` : ''}nothing was written; fix the answers and run setup again` })
    throw err
  }
  ctx.actions.push(pushAction({ bundled: false }))
}
