// Setup step 2, environment: private (local ports on 127.0.0.1, the default, needs nothing else) or public (a domain;
// the hostnames derived from it are shown). Queues STACKYARD_ENVIRONMENT and DOMAIN for .env.
import type { Environment } from '../../model/x-fields.ts'
import type { SetupContext } from '../context.ts'
import { domainProblem } from '../validate.ts'
import { routeHost } from '../../model/routes.ts'

type Ctx = Pick<SetupContext, 'answers' | 'current' | 'files' | 'decide' | 'ask' | 'setEnv' | 'registry' | 'log'>

export async function environment(ctx: Ctx): Promise<void> {
  const env = await ctx.decide<Environment>({
    key: 'environment',
    flag: '--environment private|public',
    what: 'where the services are reached (public also needs --domain and --cloudflare)',
    current: ctx.current.environment,
    fallback: (ctx.files.global.STACKYARD_ENVIRONMENT as Environment) || 'private',
    prompt: (initial) =>
      ctx.ask.select<Environment>({
        message: 'Where will the services be reached?',
        options: [
          { value: 'private', label: 'Private', hint: 'on this machine: http://localhost:<port> (needs nothing else)' },
          { value: 'public', label: 'Public', hint: 'https://<service>.<your domain>, through Cloudflare Tunnel and Access' },
        ],
        initialValue: initial,
      }),
  })
  if (!env) return
  ctx.answers.environment = env
  ctx.setEnv('STACKYARD_ENVIRONMENT', env, { pin: true })
  if (env !== 'public') return
  const domain = await ctx.decide<string>({
    key: 'domain',
    flag: '--domain DOMAIN',
    what: 'the base domain of the public environment (its zone must be on Cloudflare)',
    current: ctx.current.domain,
    prompt: async (initial) => (await ctx.ask.text({ message: 'Base domain (services become <name>.<domain>)', placeholder: 'example.com', initialValue: initial, validate: domainProblem })).trim().toLowerCase(),
  })
  if (!domain) return
  ctx.answers.domain = domain
  ctx.setEnv('DOMAIN', domain)
  const hosts = [...new Set(ctx.registry.routes.map((r) => routeHost(r, { domain })!))]
  if (hosts.length) ctx.log.info(`hostnames: ${hosts.join(', ')} (those of the services you run)`)
}
