// Bootstrap of a fresh Infisical: on servers with POST /api/v1/admin/bootstrap it creates the admin, organization,
// project (with the configured environment), a machine identity with universal auth, its client secret and project
// membership, each step recorded as it succeeds (lib/infisical/bootstrap-state.ts) so that a later run continues from
// the step that failed; on servers without it (2024 builds) it lists the web-UI steps and continues from the
// identity's credentials. It returns the credentials to store; the caller writes .env (storeBootstrap). Inputs come
// in; nothing reads process.env.
import { FailureError, UsageError } from '../core/errors.ts'
import type { Transport } from '../core/http.ts'
import type { Logger } from '../core/log.ts'
import type { Ask } from '../core/prompt.ts'
import { registerSecret } from '../core/redact.ts'
import { createInfisicalClient, InfisicalApiError, type InfisicalScope } from './client.ts'
import type { InfisicalConfig } from './config.ts'
import type { BootstrapProgress, ProgressStore } from './bootstrap-state.ts'

export interface BootstrapInput {
  config: InfisicalConfig
  /** where people open the web UI (INFISICAL_SITE_URL), for the manual steps */
  siteUrl: string
  email?: string
  organization?: string
  projectName: string
  identityName: string
  /** the admin password (from stdin or INFISICAL_ADMIN_PASSWORD); asked masked when missing */
  password?: string
  /** manual path: the identity's credentials and the project */
  clientId?: string
  clientSecret?: string
  projectId?: string
  interactive: boolean
  ask: Ask
  log: Logger
  dryRun?: { skipped(what: string): void }
  transport?: Transport
  /** where the progress of an unfinished bootstrap is kept (none: nothing is resumable) */
  progress?: ProgressStore
  /** where the configured credentials come from, for messages (default ".env") */
  credentialsFrom?: string
}

export interface BootstrapResult {
  mode: 'already-configured' | 'bootstrapped' | 'manual'
  clientId: string
  clientSecret: string
  projectId: string
  /** what was created, in order */
  created: string[]
}

/** The web-UI steps for a server without the bootstrap API (or already initialized without our identity). */
export function manualSteps(siteUrl: string, projectName: string, identityName: string, environment: string, initialized: boolean): string[] {
  const steps = [
    !initialized && `Open ${siteUrl}/admin/signup and create the admin account and the organization.`,
    `Create a project named "${projectName}" (new projects have the environments dev, staging and prod${['dev', 'staging', 'prod'].includes(environment) ? '' : `; add "${environment}" under Project Settings → Environments`}).`,
    `Organization Settings → Access Control → Machine Identities → Create identity "${identityName}" (organization role: Member).`,
    'Open the identity → Authentication → add Universal Auth (the defaults are fine).',
    'Universal Auth → Client Secrets → Create; copy the Client ID and the Client Secret.',
    `In the project: Access Control → Machine Identities → Add identity "${identityName}" with the role Developer.`,
    "Copy the project's ID from Project Settings.",
  ].filter(Boolean) as string[]
  return steps.map((s, i) => `${i + 1}. ${s}`)
}

export async function bootstrapInfisical(input: BootstrapInput): Promise<BootstrapResult> {
  const { config, log } = input
  if (!config.url) throw new UsageError('no Infisical URL: INFISICAL_API_URL and INFISICAL_SITE_URL are both unset', { hint: 'switch the bundled instance on (STACKYARD_PROFILES=infisical) or set INFISICAL_API_URL in .env' })
  const scopeFor = (projectId: string): InfisicalScope => ({ projectId, environment: config.environment, secretPath: '/' })
  const anon = createInfisicalClient({ baseUrl: config.url, transport: input.transport, dryRun: input.dryRun })
  const health = await anon.status()
  if (!health.ok) throw new FailureError(`Infisical at ${anon.origin} is not ready: ${health.message}`, { hint: 'wait for infisical-backend to be healthy (docker compose ps), then run bootstrap again' })

  if (!input.clientId && !input.projectId && config.clientId && config.clientSecret && config.projectId) {
    await verify(config.clientId, config.clientSecret, config.projectId)
    log.success(`Infisical is already set up: the machine identity in ${input.credentialsFrom ?? '.env'} can read ${config.environment} of project ${config.projectId}`)
    return { mode: 'already-configured', clientId: config.clientId, clientSecret: config.clientSecret, projectId: config.projectId, created: [] }
  }

  // an earlier run that stopped half-way: continue from the step that failed (it needs no password: the token is kept)
  const saved = input.clientId || input.projectId ? undefined : input.progress?.load()
  if (saved?.adminToken) return automatic(saved)
  const { initialized } = await anon.adminConfig()
  if (!initialized && (await anon.hasBootstrap())) return automatic({})
  if (initialized && saved?.sent)
    throw lostReply(saved.email ?? 'the admin', undefined)
  return manual(initialized)

  async function verify(clientId: string, clientSecret: string, projectId: string): Promise<void> {
    const c = createInfisicalClient({ baseUrl: config.url!, clientId, clientSecret, transport: input.transport })
    await c.listSecrets(scopeFor(projectId))
  }

  function lostReply(email: string, cause: InfisicalApiError | undefined): FailureError {
    return new FailureError(`Infisical at ${anon.origin} was initialised by this bootstrap (admin ${email}), but the reply carrying its admin token was lost${cause ? ` (${cause.message})` : ''}; Infisical hands that token out only once, so the rest cannot be done through the API`, {
      hint: `finish in the web UI (${input.siteUrl}, log in as ${email}): ${manualSteps(input.siteUrl, input.projectName, input.identityName, config.environment, true).join(' ')} Then run bootstrap again with --client-id, --project-id and --client-secret-stdin.`,
    })
  }

  async function automatic(p: BootstrapProgress): Promise<BootstrapResult> {
    const save = async () => input.progress?.save(p)
    const created: string[] = []
    if (!p.adminToken) {
      const missing: string[] = []
      if (!input.email && !input.interactive) missing.push('--email')
      if (!input.password && !input.interactive) missing.push('the admin password (--password-stdin, or INFISICAL_ADMIN_PASSWORD in the environment)')
      if (missing.length) throw new UsageError(`bootstrap needs ${missing.join(' and ')} (no terminal to ask)`, { hint: 'printf %s "$PASSWORD" | npx zx tasks/00-infrastructure/infisical/bootstrap.ts --email admin@example.com --password-stdin' })
      const email = input.email ?? (await input.ask.text({ message: 'Admin email for Infisical', validate: (v) => (/.+@.+\..+/.test(v) ? undefined : 'an email address') }))
      const organization = input.organization ?? (input.interactive ? await input.ask.text({ message: 'Organization name', defaultValue: 'Stackyard', placeholder: 'Stackyard' }) : 'Stackyard')
      const password = input.password ?? (await input.ask.password({ message: 'Admin password (14+ characters)', validate: (v) => (v.length >= 14 ? undefined : 'at least 14 characters') }))
      registerSecret(password)
      log.step(`bootstrapping ${anon.origin}: admin ${email}, organization "${organization}"`)
      // recorded before it is sent: a lost reply is then told apart from an instance someone else set up
      Object.assign(p, { sent: true, email, organization })
      await save()
      let admin
      try {
        admin = await anon.bootstrap({ email, password, organization })
      } catch (err) {
        if (!(err instanceof InfisicalApiError) || (err.kind !== 'unreachable' && err.kind !== 'server')) throw err
        // no answer, or a server error: did the request take effect? Only if it did not may it be sent again
        const now = await anon.adminConfig().catch(() => undefined)
        if (!now || now.initialized) throw lostReply(email, err)
        log.warn(`the bootstrap request failed before it took effect (${err.message}); sending it again`)
        admin = await anon.bootstrap({ email, password, organization })
      }
      registerSecret(admin.token)
      Object.assign(p, { adminToken: admin.token, organizationId: admin.organizationId })
      await save()
      created.push('admin user', `organization "${organization}"`)
    } else log.step(`continuing the bootstrap of ${anon.origin} (admin ${p.email ?? '?'}) from where it stopped`)
    const email = p.email ?? 'the admin'
    const ac = createInfisicalClient({ baseUrl: config.url!, accessToken: p.adminToken || 'dry-run', transport: input.transport, dryRun: input.dryRun })
    let step = 'create the project'
    try {
      if (!p.projectId) {
        const project = await ac.createProject(input.projectName)
        Object.assign(p, { projectId: project.id, environmentReady: project.environments.includes(config.environment) })
        await save()
        created.push(`project "${input.projectName}"`)
      }
      if (!p.environmentReady) {
        step = `create the environment "${config.environment}"`
        try {
          await ac.createEnvironment(p.projectId!, config.environment, config.environment)
          created.push(`environment "${config.environment}"`)
        } catch (err) {
          // created by an earlier attempt whose reply was lost
          if (!(err instanceof InfisicalApiError && /already exist/i.test(err.message))) throw err
        }
        p.environmentReady = true
        await save()
      }
      if (!p.identityId) {
        step = 'create the machine identity'
        p.identityId = (await ac.createIdentity(p.organizationId!, input.identityName, 'member')).id
        await save()
        created.push(`machine identity "${input.identityName}"`)
      }
      if (!p.clientId) {
        step = 'add universal auth to the identity'
        try {
          p.clientId = (await ac.attachUniversalAuth(p.identityId)).clientId
        } catch (err) {
          // attached by an earlier attempt whose reply was lost: read its client ID
          if (!(err instanceof InfisicalApiError && err.status === 400)) throw err
          p.clientId = (await ac.getUniversalAuth(p.identityId)).clientId
        }
        await save()
      }
      if (!p.clientSecret) {
        step = 'create a client secret'
        const { clientSecret } = await ac.createClientSecret(p.identityId, 'stackyard sync (created by bootstrap)')
        registerSecret(clientSecret)
        p.clientSecret = clientSecret
        await save()
        created.push('universal auth and a client secret')
      }
      if (!p.member) {
        step = 'add the identity to the project'
        try {
          await ac.addIdentityToProject(p.projectId!, p.identityId, 'member')
        } catch (err) {
          if (!(err instanceof InfisicalApiError && err.kind === 'exists')) throw err
        }
        p.member = true
        await save()
        created.push('project membership (role member)')
      }
      if (!input.dryRun) {
        step = 'log in as the new identity'
        await verify(p.clientId, p.clientSecret, p.projectId!)
      }
      return { mode: 'bootstrapped', clientId: p.clientId, clientSecret: p.clientSecret, projectId: p.projectId!, created }
    } catch (err) {
      if (!(err instanceof InfisicalApiError)) throw err
      const resumable = input.progress && !input.dryRun
      throw new FailureError(`the instance is bootstrapped (admin ${email}), but the step "${step}" failed: ${err.message}`, {
        hint: resumable
          ? `run bootstrap again once the cause is fixed: it continues from this step (the progress, with the admin token, is kept in ${input.progress!.file}, mode 0600, until the credentials are in .env)`
          : `finish in the web UI (${input.siteUrl}, log in as ${email}): ${manualSteps(input.siteUrl, input.projectName, input.identityName, config.environment, true).join(' ')} Then run bootstrap again with --client-id, --project-id and --client-secret-stdin.`,
      })
    }
  }

  async function manual(isInitialized: boolean): Promise<BootstrapResult> {
    const why = isInitialized ? `Infisical at ${anon.origin} already has an admin` : `Infisical at ${anon.origin} has no bootstrap API (a 2024 build)`
    log.warn(`${why}: create the machine identity in the web UI, then give its credentials here.`)
    for (const line of manualSteps(input.siteUrl, input.projectName, input.identityName, config.environment, isInitialized)) log.info(line)
    const missing = [
      !input.clientId && '--client-id',
      !input.projectId && '--project-id',
      !input.clientSecret && '--client-secret-stdin (or INFISICAL_CLIENT_SECRET in the environment)',
    ].filter(Boolean) as string[]
    if (missing.length && !input.interactive)
      throw new UsageError(`then run bootstrap again with ${missing.join(', ')} (no terminal to ask)`, { hint: 'printf %s "$CLIENT_SECRET" | npx zx tasks/00-infrastructure/infisical/bootstrap.ts --client-id <id> --project-id <id> --client-secret-stdin' })
    const clientId = input.clientId ?? (await input.ask.text({ message: 'Client ID of the machine identity' })).trim()
    const clientSecret = input.clientSecret ?? (await input.ask.password({ message: 'Client secret' }))
    registerSecret(clientSecret)
    const projectId = input.projectId ?? (await input.ask.text({ message: 'Project ID' })).trim()
    if (!input.dryRun) await verify(clientId, clientSecret, projectId)
    return { mode: 'manual', clientId, clientSecret, projectId, created: [] }
  }
}
