// The setup wizard's context: the answers, where each comes from (flags or the answers file, the current
// configuration, a default under --yes, a prompt), the .env changes and the actions queued for after the review.
// No I/O of its own: the task builds the input from files and flags (lib/setup/input.ts); steps read and fill it.
import { UsageError } from '../core/errors.ts'
import type { FlagDecls } from '../core/flags.ts'
import type { Logger } from '../core/log.ts'
import type { Ask } from '../core/prompt.ts'
import type { PreflightDeps, DockerFacts } from '../docker/preflight.ts'
import { registerSecret } from '../core/redact.ts'
import { isNonSecretSetting } from '../env/secrecy.ts'
import type { Registry } from '../model/registry.ts'
import { HARDWARE_PROFILES, type Engine, type Environment, type HardwareProfile } from '../model/x-fields.ts'
import type { TaskContext } from '../task/task.ts'
import type { UpReport } from '../stacks/up.ts'
import { commaList } from '../core/format.ts'

export const CLOUDFLARE_MODES = ['none', 'tunnel-token', 'api-token'] as const
export type CloudflareMode = (typeof CLOUDFLARE_MODES)[number]
export const INFISICAL_MODES = ['none', 'bundled', 'external'] as const
export type InfisicalMode = (typeof INFISICAL_MODES)[number]

/** Everything the wizard asks (secrets apart: they never travel with the answers). */
export interface Answers {
  environment?: Environment
  domain?: string
  /** stack names, the proxy's stack and every dependency included */
  stacks?: string[]
  /** optional compose profiles (STACKYARD_PROFILES without the bundled Infisical's) */
  optional?: string[]
  profile?: HardwareProfile
  /** STACKYARD_ENGINE: compose, or swarm */
  engine?: Engine
  cloudflare?: CloudflareMode
  accessEmails?: string
  accessEmailDomain?: string
  infisical?: InfisicalMode
  infisicalUrl?: string
  infisicalClientId?: string
  infisicalProjectId?: string
  infisicalEmail?: string
  rotate?: string[]
}

/** What the env files define, without the shell: `.env` alone, `.env.global` alone, and all file layers merged. */
export interface SetupFiles {
  dotEnv: Record<string, string>
  global: Record<string, string>
  effective: Record<string, string>
}

export interface EnvChange {
  key: string
  /** null removes the key */
  value: string | null
  secret: boolean
  /** its value in .env now (undefined: the key is added to .env) */
  before?: string
  note?: string
}

/** What an action gets when it runs, after .env is written. */
export interface ApplyContext {
  /** a task context over the files as they are now (every call re-reads them) */
  task(): TaskContext<FlagDecls>
  log: Logger
  ask: Ask
  interactive: boolean
  /** closing notes, printed under "next" */
  next: string[]
  /** problems left for the user (the run exits 1 after finishing everything else) */
  problems: string[]
  /** the report of the last `up` */
  report?: UpReport
}

export interface Action {
  title: string
  /** needs a reachable Docker engine */
  docker?: boolean
  /** starts containers: not run with --no-start */
  starts?: boolean
  /** the commands that do it later or by hand */
  resume: string[]
  run(a: ApplyContext): Promise<void>
}

export interface Facts {
  docker?: DockerFacts
  /** why Docker cannot be used, and how to fix it */
  dockerProblem?: { message: string; hint?: string }
  /** the hardware profile the GPU check suggests */
  gpu?: HardwareProfile
}

export interface SetupInput {
  root: string
  registry: Registry
  files: SetupFiles
  /** a value the calling environment sets (tokens may come from it); read through the env layer (lib/env/layers.ts) */
  shell(key: string): string | undefined
  /** answers from flags and the answers file */
  given: Answers
  /** secrets from --secrets-stdin and the answers file */
  givenSecrets: Record<string, string>
  ask: Ask
  interactive: boolean
  yes: boolean
  dryRun: boolean
  /** false with --no-start */
  start: boolean
  /** seconds each stack may take to become healthy */
  timeout: number
  log: Logger
  /** the review and reports: stdout, redacted */
  out(text: string): void
  /** preflight reads (docker, nvidia-smi, device nodes, ports) */
  probe: Pick<PreflightDeps, 'exec' | 'exists' | 'probePort'> & { nodeVersion: string; /** --context: the engine may be another machine (GPU and ports are its, not ours) */ remote?: boolean }
  /** a fresh task context (re-reads the files) for the actions */
  fresh(): TaskContext<FlagDecls>
  /** records what --dry-run skipped */
  skipped(what: string): void
}

export interface Question<T> {
  key: keyof Answers
  /** the flag that answers it, with its value placeholder (`--domain DOMAIN`) */
  flag: string
  /** what it is, for the list of missing answers */
  what: string
  /** the current configuration's answer */
  current?: T
  /** the default (taken with --yes; the initial value of the prompt) */
  fallback?: T
  prompt(initial: T | undefined): Promise<T>
}

export interface SecretQuestion {
  message: string
  what: string
  validate?: (v: string) => string | undefined
}

export interface Missing {
  key: string
  flag: string
  what: string
}

export interface SetupContext extends SetupInput {
  answers: Answers
  /** the answers the current configuration implies */
  current: Answers
  /** .env holds the wizard's settings (STACKYARD_ENVIRONMENT): a re-run */
  configured: boolean
  /** interactive re-run: keep the current settings, ask only what is missing */
  keep: boolean
  facts: Facts
  changes: Map<string, EnvChange>
  actions: Action[]
  /** texts the review shows (e.g. the Cloudflare plan), computed after every answer is in */
  previews: Array<() => Promise<string | undefined>>
  /** closing notes (what to do next), computed after the apply */
  next: Array<() => string | undefined>
  warnings: string[]
  missingInputs: Missing[]
  missing(m: Missing): void
  decide<T>(q: Question<T>): Promise<T | undefined>
  secret(key: string, q: SecretQuestion): Promise<string | undefined>
  /** queues a .env change; `pin` compares with .env alone (a setting this installation chose), else with every file */
  setEnv(key: string, value: string | null, o?: { secret?: boolean; pin?: boolean; note?: string }): void
  /** the file values as they will be after the write */
  planned(): Record<string, string>
  isSecret(key: string): boolean
  failIfMissing(): void
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v)

/** The answers the files imply. Settings count only once setup has written them (STACKYARD_ENVIRONMENT in .env). */
export function inferCurrent(files: SetupFiles, registry: Pick<Registry, 'stacks' | 'select'>, instanceProfile: string): { configured: boolean; current: Answers } {
  const e = files.effective
  const configured = 'STACKYARD_ENVIRONMENT' in files.dotEnv
  const current: Answers = {
    domain: nonEmpty(e.DOMAIN?.trim().toLowerCase()),
    accessEmails: nonEmpty(e.CLOUDFLARE_ACCESS_EMAILS),
    accessEmailDomain: nonEmpty(e.CLOUDFLARE_ACCESS_EMAIL_DOMAIN),
    infisicalUrl: nonEmpty(e.INFISICAL_API_URL),
    infisicalClientId: nonEmpty(e.INFISICAL_CLIENT_ID),
    infisicalProjectId: nonEmpty(e.INFISICAL_PROJECT_ID),
  }
  if (!configured) return { configured, current }
  const profiles = commaList(e.STACKYARD_PROFILES)
  if (e.STACKYARD_ENVIRONMENT === 'private' || e.STACKYARD_ENVIRONMENT === 'public') current.environment = e.STACKYARD_ENVIRONMENT
  try {
    current.stacks = (commaList(e.STACKYARD_STACKS).length ? registry.select(commaList(e.STACKYARD_STACKS)) : registry.stacks).map((s) => s.name)
  } catch {
    // an unknown name: asked again
  }
  if ((HARDWARE_PROFILES as readonly string[]).includes(e.STACKYARD_PROFILE)) current.profile = e.STACKYARD_PROFILE as HardwareProfile
  current.optional = profiles.filter((p) => p !== instanceProfile)
  current.engine = e.STACKYARD_ENGINE === 'swarm' ? 'swarm' : 'compose'
  current.infisical = profiles.includes(instanceProfile) ? 'bundled' : e.INFISICAL_API_URL ? 'external' : 'none'
  if (current.environment === 'public') current.cloudflare = e.CLOUDFLARE_API_TOKEN ? 'api-token' : e.CLOUDFLARE_TUNNEL_TOKEN ? 'tunnel-token' : 'none'
  return { configured, current }
}

export function createSetupContext(input: SetupInput, instanceProfile: string): SetupContext {
  const { configured, current } = inferCurrent(input.files, input.registry, instanceProfile)
  const ctx: SetupContext = {
    ...input,
    answers: {},
    current,
    configured,
    keep: false,
    facts: {},
    changes: new Map(),
    actions: [],
    previews: [],
    next: [],
    warnings: [],
    missingInputs: [],
    missing(m) {
      if (!ctx.missingInputs.some((x) => x.key === m.key)) ctx.missingInputs.push(m)
    },
    async decide<T>(q: Question<T>) {
      const given = ctx.given[q.key] as T | undefined
      if (given !== undefined) return given
      if (q.current !== undefined && (ctx.keep || !ctx.interactive)) return q.current
      const initial = q.current ?? q.fallback
      if (ctx.yes && initial !== undefined) return initial
      if (ctx.interactive) return q.prompt(initial)
      ctx.missing({ key: String(q.key), flag: q.flag, what: q.what })
      return undefined
    },
    async secret(key, q) {
      const known = ctx.givenSecrets[key] ?? nonEmpty(ctx.shell(key)) ?? nonEmpty(ctx.files.effective[key])
      if (known !== undefined) {
        const problem = q.validate?.(known)
        if (problem) throw new UsageError(`${key}: ${problem}`, { hint: `fix the value you gave for ${key} (environment, --secrets-stdin or the answers file)` })
        registerSecret(known)
        return known
      }
      if (ctx.interactive) {
        const value = await ctx.ask.password({ message: q.message, validate: q.validate ?? ((v) => (v.trim() ? undefined : 'required')) })
        registerSecret(value)
        return value
      }
      ctx.missing({ key, flag: `${key} in the environment, or --secrets-stdin`, what: q.what })
      return undefined
    },
    setEnv(key, value, o = {}) {
      const secret = o.secret ?? ctx.isSecret(key)
      const before = ctx.files.dotEnv[key]
      if (value === null) {
        if (key in ctx.files.dotEnv) ctx.changes.set(key, { key, value, secret, before, note: o.note })
        else ctx.changes.delete(key)
        return
      }
      if (secret) registerSecret(value)
      const same = o.pin ? before === value : ctx.files.effective[key] === value
      if (same) ctx.changes.delete(key)
      else ctx.changes.set(key, { key, value, secret, before, note: o.note })
    },
    planned() {
      const out = { ...ctx.files.effective }
      for (const c of ctx.changes.values()) {
        if (c.value !== null) out[c.key] = c.value
        else if (c.key in ctx.files.global) out[c.key] = ctx.files.global[c.key]
        else delete out[c.key]
      }
      return out
    },
    // .env holds secrets unless a key is a setting declared non-secret (lib/env/secrecy.ts)
    isSecret: (key) => !isNonSecretSetting(key, ctx.registry.secrets),
    failIfMissing() {
      if (!ctx.missingInputs.length) return
      const width = Math.max(...ctx.missingInputs.map((m) => m.flag.length))
      const lines = ctx.missingInputs.map((m) => `  ${m.flag.padEnd(width)}  ${m.what}`)
      throw new UsageError(`setup needs ${ctx.missingInputs.length === 1 ? 'an answer' : `${ctx.missingInputs.length} answers`} and there is no terminal to ask:\n${lines.join('\n')}`, {
        hint: 'pass them as flags or in --answers FILE (secrets: in the environment or with --secrets-stdin); --yes takes the defaults where there are any; or run it in a terminal',
      })
    },
  }
  return ctx
}
