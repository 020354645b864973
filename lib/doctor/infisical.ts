// Doctor check for Infisical: SITE_URL must be the address browsers use with the scheme the environment serves
// (a mismatch is a login loop), the sync settings parse, and the machine identity is set completely or not
// at all. Pure: reads the registry, env and settings doctor loaded; no network.
import type { CheckResult, Finding } from '../model/check-result.ts'
import type { Check } from './check.ts'
import { activeProfiles, routeUrl, serviceEnabled } from '../model/routes.ts'
import { INSTANCE_PROFILE, readInfisicalConfig } from '../infisical/config.ts'

export const infisicalCheck: Check = (_input, l) => {
  const id = 'infisical'
  const title = 'Infisical'
  if (!l.registry || !l.env || !l.settings) return { id, title, status: 'skip', summary: 'needs valid metadata, env files and settings', findings: [] }
  const findings: Finding[] = []
  const values = l.env.values
  const where = (key: string) => {
    const s = l.env!.sources[key]
    return s?.kind === 'file' ? `${s.file}${s.line ? `:${s.line}` : ''}` : s?.kind === 'shell' ? 'your shell' : key
  }
  try {
    readInfisicalConfig(values)
  } catch (err) {
    findings.push({ status: 'fail', message: (err as Error).message, fix: (err as { hint?: string }).hint })
  }
  const creds = ['INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'].filter((k) => values[k])
  if (creds.length && creds.length < 3)
    findings.push({ status: 'warn', message: `only ${creds.join(', ')} of the machine identity settings are set: the sync and the export for up are off`, fix: 'run npx zx tasks/00-infrastructure/infisical/bootstrap.ts, or set all three in .env' })

  const stack = l.registry.stacks.find((s) => s.services.some((svc) => svc.profiles.includes(INSTANCE_PROFILE)))
  const backend = stack?.services.find((s) => s.profiles.includes(INSTANCE_PROFILE) && s.route)
  let summary = 'the bundled instance is off (STACKYARD_PROFILES has no infisical)'
  if (stack && backend?.route && serviceEnabled(backend, activeProfiles(stack.autoProfiles, l.settings, values))) {
    const route = backend.route
    const expected = routeUrl(route, l.settings)
    const actual = values[route.urlEnv]
    summary = `the bundled instance serves ${expected}`
    if (actual !== undefined && actual !== expected) {
      const scheme = actual.split(':')[0]
      const wanted = l.settings.environment === 'public' ? 'https' : 'http'
      findings.push({
        status: scheme !== wanted ? 'fail' : 'warn',
        message: `${route.urlEnv} is ${actual} (${where(route.urlEnv)}) but the ${l.settings.environment} environment serves Infisical at ${expected}${scheme !== wanted ? `; with HTTPS_ENABLED=${wanted === 'https'} its session cookie will not stick and the login loops` : ''}`,
        where: where(route.urlEnv),
        fix: `remove ${route.urlEnv} from ${where(route.urlEnv)}: it is derived from the route`,
      })
    }
  }
  const status = findings.some((f) => f.status === 'fail') ? 'fail' : findings.length ? 'warn' : 'ok'
  const result: CheckResult = { id, title, status, summary: status === 'ok' ? summary : `${findings.length} finding${findings.length === 1 ? '' : 's'}`, findings }
  return result
}
