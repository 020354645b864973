// The wizard's command line and what it starts from: the flags (every question has one), the answers file, secrets
// from stdin, and the env files as they are now. Reads files and stdin; changes nothing.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '../core/errors.ts'
import { EnvSyntaxError, parseDotenv } from '../env/dotenv.ts'
import { EnvFileError } from '../env/layers.ts'
import { loadEnvLayers, type EnvLayers } from '../env/layers.ts'
import type { Flags } from '../core/flags.ts'
import { probePort } from '../docker/preflight.ts'
import { ENVIRONMENTS, ENV_NAME, HARDWARE_PROFILES } from '../model/x-fields.ts'
import { createContext, type TaskContext } from '../task/task.ts'
import { loadAnswersFile } from './answers-file.ts'
import { CLOUDFLARE_MODES, INFISICAL_MODES, type Answers, type SetupFiles, type SetupInput } from './context.ts'
import { domainProblem, emailDomainProblem, emailProblem, emailsProblem, urlProblem } from './validate.ts'
import { scope } from '../core/scope.ts'

export const SETUP_FLAGS = {
  environment: { type: 'string', choices: ENVIRONMENTS, help: 'private: local ports on 127.0.0.1; public: https://<service>.<domain> through Cloudflare' },
  domain: { type: 'string', placeholder: 'DOMAIN', help: 'base domain of the public environment, e.g. example.com' },
  stacks: { type: 'strings', placeholder: 'NAME', help: 'stacks to run (all, or names; the proxy stack and dependencies are added)' },
  optional: { type: 'strings', placeholder: 'PROFILE', help: 'optional services (compose profiles) to switch on, or none' },
  profile: { type: 'string', choices: HARDWARE_PROFILES, help: 'hardware profile for the model server' },
  cloudflare: { type: 'string', choices: CLOUDFLARE_MODES, help: 'public only: none, an existing tunnel token (CLOUDFLARE_TUNNEL_TOKEN), or an API token (CLOUDFLARE_API_TOKEN) to set up tunnel, DNS and Access' },
  'access-emails': { type: 'string', placeholder: 'EMAILS', help: 'who Cloudflare Access lets into protected services (comma-separated)' },
  'access-email-domain': { type: 'string', placeholder: 'DOMAIN', help: 'or: everyone with an address at this domain' },
  infisical: { type: 'string', choices: INFISICAL_MODES, help: 'secrets manager: none, the bundled instance, or an external one' },
  'infisical-url': { type: 'string', placeholder: 'URL', help: 'external Infisical: its URL' },
  'infisical-client-id': { type: 'string', placeholder: 'ID', help: 'external Infisical: the machine identity (secret: INFISICAL_CLIENT_SECRET)' },
  'infisical-project-id': { type: 'string', placeholder: 'ID', help: 'external Infisical: the project' },
  'infisical-email': { type: 'string', placeholder: 'EMAIL', help: 'bundled Infisical: the admin email (password: INFISICAL_ADMIN_PASSWORD)' },
  rotate: { type: 'strings', placeholder: 'KEY', help: 'replace this generated secret with a new value' },
  answers: { type: 'string', placeholder: 'FILE', help: 'YAML file of answers (keys: these flag names; secrets: under `secrets:`)' },
  'secrets-stdin': { type: 'boolean', help: 'read secrets as KEY=value lines (dotenv) from stdin' },
  start: { type: 'boolean', default: true, help: 'start the platform after writing the configuration (--no-start: stop before up)' },
  timeout: { type: 'number', integer: true, min: 10, default: 300, placeholder: 'SECONDS', help: 'how long each stack may take to become healthy' },
} as const

export type SetupFlags = Flags<typeof SETUP_FLAGS>
type SetupTask = TaskContext<typeof SETUP_FLAGS>

/** The env files as they are now, without the shell's values (interpolation inside them still sees the shell). */
export function readSetupFiles(root: string, all: EnvLayers = loadEnvLayers({ root })): SetupFiles {
  const upToEnv = loadEnvLayers({ root, files: ['.env.global', '.env'] })
  const dotEnv: Record<string, string> = {}
  for (const [key, sources] of Object.entries(upToEnv.history)) if (sources.some((s) => s.kind === 'file' && s.file === '.env')) dotEnv[key] = upToEnv.files[key]
  return { dotEnv, global: loadEnvLayers({ root, files: ['.env.global'] }).files, effective: all.files }
}

/** What the calling shell sets for `key`, read from the env layer's result (no process.env here). */
export function shellValue(env: Pick<EnvLayers, 'files' | 'sources' | 'values' | 'lookup'>, key: string): string | undefined {
  if (Object.hasOwn(env.files, key)) return env.sources[key]?.kind === 'shell' ? env.values[key] : undefined
  return env.lookup(key)
}

function check(flag: string, value: string | undefined, problem: (v: string) => string | undefined): string | undefined {
  if (value === undefined) return undefined
  const p = problem(value)
  if (p) throw new UsageError(`--${flag}: "${value}": ${p}`)
  return value.trim()
}

/** Flags as answers (only what was given), validated with the prompts' rules. */
export function flagAnswers(f: SetupFlags): Answers {
  const a: Answers = {
    environment: f.environment,
    domain: check('domain', f.domain, domainProblem)?.toLowerCase(),
    stacks: f.stacks.length ? f.stacks : undefined,
    optional: f.optional.length ? f.optional.filter((p) => p !== 'none') : undefined,
    profile: f.profile,
    cloudflare: f.cloudflare,
    accessEmails: check('access-emails', f.accessEmails, emailsProblem),
    accessEmailDomain: check('access-email-domain', f.accessEmailDomain, emailDomainProblem),
    infisical: f.infisical,
    infisicalUrl: check('infisical-url', f.infisicalUrl, urlProblem),
    infisicalClientId: f.infisicalClientId?.trim(),
    infisicalProjectId: f.infisicalProjectId?.trim(),
    infisicalEmail: check('infisical-email', f.infisicalEmail, emailProblem),
    rotate: f.rotate.length ? f.rotate : undefined,
  }
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Answers
}

/** KEY=value lines from stdin (a pipe, never the terminal). */
export function readStdinSecrets(isTTY: boolean, read: () => string = () => scope().readStdin()): Record<string, string> {
  if (isTTY) throw new UsageError('--secrets-stdin reads KEY=value lines from a pipe, and stdin is a terminal', { hint: 'printf "CLOUDFLARE_API_TOKEN=%s\\n" "$TOKEN" | npx zx tasks/setup.ts --secrets-stdin …' })
  let parsed: Record<string, string>
  try {
    parsed = parseDotenv(read())
  } catch (err) {
    // the located error names stdin:line:column and what was expected, never the text (it holds the secrets)
    if (err instanceof EnvSyntaxError) throw EnvFileError.fromSyntax('--secrets-stdin: stdin', err)
    throw err
  }
  for (const k of Object.keys(parsed)) if (!ENV_NAME.test(k)) throw new UsageError(`--secrets-stdin: "${k}" is not a variable name`)
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== ''))
}

export async function readSetupInput(task: SetupTask): Promise<SetupInput & { warnings: string[] }> {
  const f = task.flags
  const file = f.answers ? loadAnswersFile(resolve(scope().cwd, f.answers), f.answers) : undefined
  const given: Answers = { ...Object.fromEntries(Object.entries(file?.answers ?? {}).filter(([, v]) => v !== undefined)), ...flagAnswers(f), ...(task.engine ? { engine: task.engine } : {}) }
  const stdin = f.secretsStdin ? readStdinSecrets(Boolean(scope().stdin.isTTY)) : {}
  const layers = loadEnvLayers({ root: task.root })
  const modes = { flags: {}, args: {}, dryRun: task.dryRun, json: false, verbose: task.verbose, yes: true, interactive: task.interactive, dockerContext: task.dockerContext }
  return {
    root: task.root,
    registry: task.registry,
    files: readSetupFiles(task.root, layers),
    shell: (key) => shellValue(layers, key),
    given,
    givenSecrets: { ...(file?.secrets ?? {}), ...stdin },
    ask: task.ask,
    interactive: task.interactive,
    yes: task.yes,
    dryRun: task.dryRun,
    start: f.start,
    timeout: f.timeout,
    log: task.log,
    out: task.out,
    probe: { exec: task.exec, exists: existsSync, probePort, nodeVersion: process.versions.node, remote: Boolean(task.dockerContext) },
    fresh: () => createContext({ yes: true }, modes, task.root),
    skipped: task.skipped,
    warnings: file?.warnings ?? [],
  }
}
