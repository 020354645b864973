// The platform as the stack tasks see it: registry, the env layers Compose gets, settings, and one plan per stack
// (invocation, profiles, enabled services, routes). Shared by up, down, status, logs, health, update and the caddy
// task. Reads files; writes nothing (writing the generated inputs is up's job, through the context).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'
import type { Registry, Route, Stack } from '../model/registry.ts'
import type { ExecOptions, ExecResult, Runner } from '../core/exec.ts'
import type { Environment, HardwareProfile } from '../model/x-fields.ts'
import type { Settings } from '../model/settings.ts'
import { composeArgs } from './compose.ts'
import { envFileChain, planStack, proxyOverlayFile, type StackPlan } from './stack-plan.ts'
import { composeEnv, DERIVED_ENV_FILE, type ComposeEnv } from '../model/layered-env.ts'
import { activeRoutes } from '../model/routes.ts'
import { ConfigError } from '../core/errors.ts'
import { DEFAULT_CONTEXT, hostProfiles, hostStacks, hostStacksVariable } from '../core/docker-context.ts'
import { registerSecrets } from '../core/redact.ts'
import { secretValues } from '../env/secrecy.ts'
import { SECRET_LAYER_FILE, secretLayerApplies } from '../env/layers.ts'

/** What the stack tasks use of the task context (any task's context fits). */
export type StackCtx = Pick<TaskContext<FlagDecls>, 'root' | 'dryRun' | 'json' | 'log' | 'out' | 'exec' | 'change' | 'writeFile' | 'registry' | 'env' | 'rel' | 'skipped' | 'confirm' | 'dockerContext'>

export interface PlatformOptions {
  environment?: Environment
  profile?: HardwareProfile
  /** the top env layer (`.env.infisical`) to pass; undefined = the one rule of secretLayerApplies */
  secretLayer?: string | null
  /** 'active' for up/update; 'declared' for down/status/logs/health (every profile, so nothing is missed) */
  profiles: 'active' | 'declared'
  /** up writes the derived env and the overlay before running Compose: list them even when absent */
  generating: boolean
}

export interface Platform {
  root: string
  registry: Registry
  compose: ComposeEnv
  settings: Settings
  envFiles: string[]
  /** routes of the services that will run, over every stack (Caddy serves them all) */
  routes: Route[]
  /** the stack holding the proxy (x-proxy), if any */
  proxyStack?: Stack
  /** the generated proxy port overlay (private environment, relative to root), when there is one to pass */
  overlay?: string
  plan(stack: Stack): StackPlan
  /** `docker` argv for a stack's compose subcommand */
  args(stack: Stack, sub: readonly string[]): string[]
  /**
   * Runs a stack's compose subcommand with the platform's environment (`env` below), nothrow unless opts say otherwise:
   * pass `ctx.exec` for reads and `ctx.change` for changes (the dry-run hook). Every compose call goes through here.
   */
  run(runner: Runner, stack: Stack, sub: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /**
   * Extra environment for docker children. When the derived env file is not there (read-only tasks before the first
   * up), its values go through the environment instead, only for keys no file and no shell variable sets: exactly
   * the lowest layer, so interpolation such as ${INFISICAL_SITE_URL:?} works and nothing is overridden.
   */
  env: Record<string, string>
  /** the Docker context (--context) the platform runs on; undefined: Docker's current one */
  context?: string
  /**
   * The engine is (possibly) another machine: a --context other than Docker's local `default`. What only this machine
   * can tell (free local ports, the GPU driver) says nothing about it. Decided here, once.
   */
  remote: boolean
  /** the variable that chose the stacks of this host: STACKYARD_STACKS, or STACKYARD_HOST_<NAME>_STACKS with --context */
  stacksVariable: string
}

/** The env layers Compose gets, before any host's assignment: the same for every Docker context of one run. */
export interface PlatformEnv {
  envFiles: string[]
  derivedExists: boolean
  base: ComposeEnv
}

/** Reads the env files once; a multi-host report shares the result between its hosts (same options for each). */
export function platformEnv(ctx: Pick<StackCtx, 'root' | 'registry'>, o: PlatformOptions): PlatformEnv {
  const secretLayer = o.secretLayer === undefined ? (secretLayerApplies(ctx.root) ? SECRET_LAYER_FILE : null) : o.secretLayer
  const derivedExists = o.generating || existsSync(join(ctx.root, DERIVED_ENV_FILE))
  const envFiles = envFileChain(ctx.root, { derived: derivedExists, secretLayer })
  const base = composeEnv(ctx.root, ctx.registry, envFiles, { environment: o.environment, profile: o.profile })
  // whatever reads the env files for Compose masks their secrets in everything printed (errors, --verbose)
  registerSecrets(secretValues(base.layers, ctx.registry.secrets))
  return { envFiles, derivedExists, base }
}

export function loadPlatform(ctx: Pick<StackCtx, 'root' | 'registry' | 'dockerContext'>, o: PlatformOptions, shared: PlatformEnv = platformEnv(ctx, o)): Platform {
  const root = ctx.root
  const registry = ctx.registry
  const { envFiles, derivedExists, base } = shared
  // a host (Docker context) runs the stacks assigned to it, when assigned; else the installation's STACKYARD_STACKS
  const context = ctx.dockerContext
  const assigned = context ? hostStacks(base.layers.values, context) : undefined
  const stacksVariable = assigned ? hostStacksVariable(context!) : 'STACKYARD_STACKS'
  for (const name of assigned ?? [])
    if (!registry.stacks.some((s) => s.name === name || s.folder === name))
      throw new ConfigError(`${stacksVariable}: unknown stack "${name}"`, { field: stacksVariable, hint: `stacks: ${registry.stacks.map((s) => s.name).join(', ')}` })
  const profiles = context ? hostProfiles(base.layers.values, context) : undefined
  const settings = { ...base.settings, ...(assigned ? { stacks: assigned.length ? assigned : undefined } : {}), ...(profiles ? { profiles } : {}) }
  const compose: ComposeEnv = { ...base, settings }
  const routes = activeRoutes(registry, settings, compose.layers.values)
  const proxyStack = registry.proxy ? registry.stack(registry.proxy.stack) : undefined
  const overlayRel = proxyOverlayFile(settings.environment)
  const overlayWanted = settings.environment === 'private' && routes.length > 0 && Boolean(proxyStack)
  const overlay = overlayWanted && (o.generating || existsSync(join(root, overlayRel))) ? overlayRel : undefined
  const plans = new Map<string, StackPlan>()
  const plan = (stack: Stack) => {
    let p = plans.get(stack.name)
    if (!p) {
      p = planStack(stack, {
        root,
        registry,
        settings,
        values: compose.layers.values,
        envFiles,
        profiles: o.profiles,
        extraFiles: (s) => (overlay && s === proxyStack ? [join(root, overlay)] : []),
      })
      plans.set(stack.name, p)
    }
    return p
  }
  const env: Record<string, string> = {}
  if (!derivedExists)
    for (const [k, v] of Object.entries(compose.derived)) if (compose.layers.sources[k]?.kind === 'derived') env[k] = v
  const args = (stack: Stack, sub: readonly string[]) => composeArgs(plan(stack).invocation, sub)
  return { root, registry, compose, settings, envFiles, routes, proxyStack, overlay, plan, args, run: (runner, stack, sub, opts) => runner('docker', args(stack, sub), { nothrow: true, ...opts, env: { ...env, ...opts?.env } }), env, context, remote: context !== undefined && context !== DEFAULT_CONTEXT, stacksVariable }
}
