// Routes derived from the registry: which services are reachable where, per environment, and the
// URL variables services need about themselves. Pure functions of the registry and settings.
import type { Registry, Route, Service } from './registry.ts'
import type { Settings } from './settings.ts'
import { ConfigError, UsageError } from '../core/errors.ts'

/** The stacks this installation runs: STACKYARD_STACKS plus the stacks they come after; every stack when unset. */
export function selectedStacks(registry: Pick<Registry, 'stacks' | 'select'>, settings: Pick<Settings, 'stacks'>): Set<string> {
  if (!settings.stacks?.length) return new Set(registry.stacks.map((s) => s.name))
  try {
    return new Set(registry.select(settings.stacks).map((s) => s.name))
  } catch (err) {
    if (err instanceof UsageError) throw new ConfigError(`STACKYARD_STACKS: ${err.message}`, { field: 'STACKYARD_STACKS', hint: err.hint })
    throw err
  }
}

/**
 * What `--stack NAME…` selects: exactly the named stacks (unknown names are a usage error); none or `all` is the
 * task's default, either the stacks this host runs (`selected`: STACKYARD_STACKS or the host's assignment) or every
 * declared stack (`declared`: down and the reports, so nothing left running is missed).
 */
export function stacksNamed(registry: Pick<Registry, 'stacks' | 'select' | 'stack'>, settings: Pick<Settings, 'stacks'>, names: readonly string[], fallback: 'selected' | 'declared'): Registry['stacks'] {
  if (names.length && !names.includes('all')) return names.map((n) => registry.stack(n))
  if (fallback === 'declared') return registry.stacks
  const here = selectedStacks(registry, settings)
  return registry.stacks.filter((s) => here.has(s.name))
}

/** The compose profiles that are switched on for a stack: hardware profile, opt-ins, auto profiles. */
export function activeProfiles(stackAutoProfiles: Record<string, string>, settings: Settings, values: Record<string, string | undefined>): string[] {
  const on = new Set<string>(settings.profile === 'none' ? [] : [settings.profile])
  settings.profiles.forEach((p) => on.add(p))
  for (const [profile, variable] of Object.entries(stackAutoProfiles)) if (values[variable]) on.add(profile)
  return [...on].sort()
}

export function serviceEnabled(service: Service, profiles: readonly string[]): boolean {
  return service.profiles.length === 0 || service.profiles.some((p) => profiles.includes(p))
}

/** Routes of the services that will run with these settings. */
export function activeRoutes(registry: Registry, settings: Settings, values: Record<string, string | undefined>): Route[] {
  const selected = selectedStacks(registry, settings)
  return registry.stacks.filter((stack) => selected.has(stack.name)).flatMap((stack) => {
    const profiles = activeProfiles(stack.autoProfiles, settings, values)
    return stack.services.filter((s) => s.route && serviceEnabled(s, profiles)).map((s) => s.route!)
  })
}

/** The route's public hostname, <sub>.<domain> (undefined without a domain). */
export function routeHost(route: Pick<Route, 'subdomain'>, settings: Pick<Settings, 'domain'>): string | undefined {
  return settings.domain ? `${route.subdomain}.${settings.domain}` : undefined
}

/**
 * Where users reach the service: https://<sub>.<domain> (public) or http://<local host>:<local_port> (private; the
 * local host is localhost unless the caller names the address the ports are bound to).
 */
export function routeUrl(route: Pick<Route, 'subdomain' | 'local_port'>, settings: Pick<Settings, 'environment' | 'domain'>, localHost = 'localhost'): string {
  if (settings.environment === 'public' && settings.domain) return `https://${routeHost(route, settings)}`
  return `http://${localHost}:${route.local_port}`
}

/** The lowest env layer: each route's URL variable (e.g. INFISICAL_SITE_URL), for every declared route. */
export function derivedEnv(registry: Registry, settings: Settings): Record<string, string> {
  return Object.fromEntries(registry.routes.map((r) => [r.urlEnv, routeUrl(r, settings)]))
}

