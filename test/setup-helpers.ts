// Test helper for the setup wizard's steps: a SetupContext over the repository's own registry with fake prompts
// (test/helpers/fake-ask.ts), given files and flags, and recorded log lines. Never used by product code.
import { loadRegistry, type Registry } from '../lib/model/registry.ts'
import type { ExecResult, Runner } from '../lib/core/exec.ts'
import type { Logger } from '../lib/core/log.ts'
import { createSetupContext, type Answers, type SetupContext, type SetupFiles } from '../lib/setup/context.ts'
import { fakeAsk, type FakeAsk } from './helpers/fake-ask.ts'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO, tempRepo, type TempRepo } from './helpers/repo.ts'
import type { FlagDecls } from '../lib/core/flags.ts'
import type { TaskContext } from '../lib/task/task.ts'

let registry: Registry | undefined
/** The registry of the shipped stacks (a copy of their compose folders: others' stacks in progress are left out). */
export function repoRegistry(): Registry {
  if (registry) return registry
  const root = mkdtempSync(join(tmpdir(), 'setup-registry-'))
  for (const folder of SHIPPED) cpSync(join(REPO, 'compose', folder), join(root, 'compose', folder), { recursive: true })
  registry = loadRegistry(root)
  rmSync(root, { recursive: true, force: true })
  return registry
}

export const GLOBAL = { STACKYARD_ENVIRONMENT: 'private', DOMAIN: '', STACKYARD_PROFILE: 'cpu', STACKYARD_PROFILES: '', STACKYARD_STACKS: '', INFISICAL_ENVIRONMENT: 'dev' }

export interface FakeSetup extends SetupContext {
  prompts: FakeAsk
  logged: string[]
  printed: string[]
  skippedLines: string[]
}

export function fakeSetup(o: {
  interactive?: boolean
  yes?: boolean
  answers?: unknown[]
  given?: Answers
  givenSecrets?: Record<string, string>
  /** .env as key → value (merged over GLOBAL for the effective view) */
  dotEnv?: Record<string, string>
  shell?: Record<string, string>
  exec?: Record<string, Partial<ExecResult>>
  exists?: string[]
  start?: boolean
  dryRun?: boolean
  /** where apply writes .env (default: the repository, for steps that write nothing) */
  root?: string
  fresh?: () => TaskContext<FlagDecls>
} = {}): FakeSetup {
  const prompts = fakeAsk(o.answers)
  const logged: string[] = []
  const printed: string[] = []
  const skippedLines: string[] = []
  const line = (kind: string) => (m: string) => void logged.push(`${kind} ${m}`)
  const log: Logger = { step: line('step'), info: line('info'), success: line('success'), warn: line('warn'), error: line('error'), debug: () => {} }
  const exec: Runner = async (cmd, args) => {
    const key = [cmd, ...args].join(' ')
    const hit = Object.entries(o.exec ?? {}).find(([k]) => key.startsWith(k))
    if (!hit) throw new Error(`spawn ${cmd} ENOENT`)
    return { exitCode: 0, stdout: '', stderr: '', ...hit[1] }
  }
  const files: SetupFiles = { dotEnv: { ...o.dotEnv }, global: { ...GLOBAL }, effective: { ...GLOBAL, ...o.dotEnv } }
  const ctx = createSetupContext(
    {
      root: o.root ?? REPO,
      registry: repoRegistry(),
      files,
      shell: (k) => o.shell?.[k],
      given: o.given ?? {},
      givenSecrets: o.givenSecrets ?? {},
      ask: prompts.ask,
      interactive: o.interactive ?? true,
      yes: o.yes ?? false,
      dryRun: o.dryRun ?? false,
      start: o.start ?? true,
      timeout: 300,
      log,
      out: (t) => void printed.push(t),
      probe: { exec, exists: (p) => (o.exists ?? []).includes(p), probePort: async () => 'free', nodeVersion: '20.20.2' },
      fresh:
        o.fresh ??
        (() => {
          throw new Error('no task context in step tests')
        }),
      skipped: (w) => void skippedLines.push(w),
    },
    'infisical',
  )
  return Object.assign(ctx, { prompts, logged, printed, skippedLines })
}

/** A docker that answers like an engine with Compose 2.39 (for checkDocker). */
export const DOCKER_OK: Record<string, Partial<ExecResult>> = {
  'docker info': { stdout: JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: {} } }) },
  'docker compose version': { stdout: '2.39.1\n' },
}

/** The stacks the wizard's end-to-end tests run against: the shipped ones (others' stacks in progress are left out). */
export const SHIPPED = ['00-infrastructure', '01-data', '02-compute', '03-apps']

/** A temporary copy of the repository (fake docker on PATH) with only the shipped stacks. */
export function setupRepo(): TempRepo {
  const repo = tempRepo()
  for (const folder of readdirSync(join(repo.root, 'compose'))) if (!SHIPPED.includes(folder)) rmSync(join(repo.root, 'compose', folder), { recursive: true, force: true })
  return repo
}
