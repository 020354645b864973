// What each stack's compose invocation gets: files, env-file layers, profiles, the services and routes that will run,
// and the generated inputs (derived env, proxy port overlay). Reads env and compose files; writes nothing.
import { existsSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { readYamlFile } from './yaml-file.ts'
import { ConfigError } from './errors.ts'
import { serializeEntry } from './env.ts'
import { loadEnvLayers, type EnvLayers } from './env-layers.ts'
import type { ComposeVariable, Registry, Route, Service, Stack } from './registry.ts'
import { activeProfiles, derivedEnv, selectedStacks, serviceEnabled } from './routes.ts'
import { readSettings, type Settings } from './settings.ts'
import { STATE_DIR } from './paths.ts'
import type { Environment, HardwareProfile } from './schema.ts'
import type { ComposeInvocation } from './compose.ts'

export const DERIVED_ENV_FILE = `${STATE_DIR}/derived.env`
export const proxyOverlayFile = (environment: Environment) => `${STATE_DIR}/proxy-ports.${environment}.yml`

/**
 * The --env-file layers, lowest first, as absolute paths: derived < .env.global < .env < the secret layer.
 * `--env-file` turns off Compose's implicit `.env`, so every layer is listed; an explicit --env-file that does not
 * exist is a Compose error, so only existing ones are listed — except .env.global, which must exist, and the
 * derived file, which the caller writes before running Compose.
 */
export function envFileChain(root: string, o: { derived: boolean; secretLayer: string | null; exists?: (abs: string) => boolean }): string[] {
  const exists = o.exists ?? existsSync
  const global = join(root, '.env.global')
  if (!exists(global)) throw new ConfigError('.env.global is missing', { file: '.env.global', hint: 'restore it from git: git checkout .env.global' })
  const chain = [...(o.derived ? [join(root, DERIVED_ENV_FILE)] : []), global]
  if (exists(join(root, '.env'))) chain.push(join(root, '.env'))
  if (o.secretLayer) chain.push(isAbsolute(o.secretLayer) ? o.secretLayer : join(root, o.secretLayer))
  return chain
}

export interface ComposeEnv {
  /** exactly what Compose sees through these --env-file layers (and the shell) */
  layers: EnvLayers
  settings: Settings
  derived: Record<string, string>
}

/**
 * Loads the layers Compose will be given (the same files, the same order) plus the derived layer, and the settings
 * with the command line's overrides. Two passes: the derived URLs depend on the settings, which come from the files.
 */
export function composeEnv(
  root: string,
  registry: Registry,
  envFiles: readonly string[] | undefined,
  overrides: { environment?: Environment; profile?: HardwareProfile; contents?: ReadonlyMap<string, string> } = {},
): ComposeEnv {
  // undefined: the default chain and its secret-layer rule (a restore checking an archive's files in their place)
  const files = envFiles?.filter((f) => !f.endsWith(DERIVED_ENV_FILE)).map((f) => (f.startsWith(root + '/') ? f.slice(root.length + 1) : f))
  const first = loadEnvLayers({ root, files, contents: overrides.contents })
  const settings = readSettings(first.values, first, overrides)
  const derived = derivedEnv(registry, settings)
  const layers = loadEnvLayers({ root, files, derived, contents: overrides.contents })
  return { layers, settings: readSettings(layers.values, layers, overrides), derived }
}

/**
 * The variables a stack's compose files require (`${X:?…}`, `${X?…}`) that the env leaves unset (or empty, for `:?`):
 * what Compose would refuse to interpolate for any subcommand of that stack, stopping and ps included. Compose
 * interpolates every service, whatever its profiles, so every service counts.
 */
export function unsetRequired(registry: Registry, stack: Stack, environment: Environment, lookup: (name: string) => string | undefined): ComposeVariable[] {
  const files = new Set([stack.file, stack.overrides[environment]].filter(Boolean))
  const seen = new Set<string>()
  return registry.variables.filter((v) => {
    if (!v.required || !files.has(v.file) || seen.has(v.name)) return false
    const value = lookup(v.name)
    if (value !== undefined && !(v.nonEmpty && value === '')) return false
    seen.add(v.name)
    return true
  })
}

export interface StackPlan {
  stack: Stack
  invocation: ComposeInvocation
  /** the profiles switched on for this stack */
  active: string[]
  /** the services that run with those profiles */
  enabled: Service[]
  /** their routes */
  routes: Route[]
}

export interface PlanOptions {
  root: string
  registry: Registry
  settings: Settings
  values: Record<string, string | undefined>
  envFiles: string[]
  /** 'active' for up/update; 'declared' for down/status/logs: every profile the stack declares, so nothing is left out */
  profiles: 'active' | 'declared'
  /** extra -f files for a stack (the generated proxy overlay), absolute */
  extraFiles?: (stack: Stack) => string[]
}

export function planStack(stack: Stack, o: PlanOptions): StackPlan {
  const active = activeProfiles(stack.autoProfiles, o.settings, o.values).filter((p) => stack.profiles.includes(p))
  // a stack left out of STACKYARD_STACKS runs nothing (down still passes its profiles, so it still stops)
  const left = Boolean(o.settings.stacks?.length) && !selectedStacks(o.registry, o.settings).has(stack.name)
  const enabled = left ? [] : stack.services.filter((s) => serviceEnabled(s, active))
  const override = stack.overrides[o.settings.environment]
  const files = [join(o.root, stack.file), ...(override ? [join(o.root, override)] : []), ...(o.extraFiles?.(stack) ?? [])]
  return {
    stack,
    invocation: { stack, files, envFiles: o.envFiles, profiles: o.profiles === 'active' ? active : [...stack.profiles] },
    active,
    enabled,
    routes: enabled.flatMap((s) => (s.route ? [s.route] : [])),
  }
}

const GENERATED = 'Generated by Stackyard (npx zx tasks/up.ts); do not edit: it is rewritten on every run.'

/** The derived layer: each route's URL variable. No secrets: URLs only. */
export function renderDerivedEnv(derived: Record<string, string>): string {
  const keys = Object.keys(derived).sort()
  return [`# ${GENERATED}`, '# Route URLs derived from x-route: the lowest --env-file layer, so .env.global and .env override it.', ...keys.map((k) => serializeEntry(k, derived[k]))].join('\n') + '\n'
}

/**
 * Private environment: Caddy listens on each route's local_port; publish exactly those ports on the proxy service,
 * bound to LOCAL_BIND_ADDRESS. Ports are declared once (x-route.local_port) and derived here. Undefined when there
 * is nothing to publish.
 */
export function renderProxyOverlay(proxy: Service, routes: readonly Route[]): string | undefined {
  const ports = [...new Set(routes.map((r) => r.local_port))].sort((a, b) => a - b)
  if (ports.length === 0) return undefined
  return [
    `# ${GENERATED}`,
    '# Private environment: the local ports of the active x-route declarations, published on the proxy.',
    'services:',
    `  ${proxy.name}:`,
    '    ports:',
    ...ports.map((p) => `      - "\${LOCAL_BIND_ADDRESS:-127.0.0.1}:${p}:${p}"`),
  ].join('\n') + '\n'
}

/** The external networks a stack's base file joins (`networks: {x: {external: true, name: …}}`): created by up when missing. */
export function externalNetworks(root: string, stack: Stack): string[] {
  const doc = (readYamlFile(join(root, stack.file), stack.file).data ?? {}) as { networks?: Record<string, { external?: boolean; name?: string } | null> }
  return Object.entries(doc.networks ?? {}).flatMap(([key, n]) => (n?.external ? [n.name ?? key] : []))
}
