// The task harness: flags, help, modes (--dry-run, --json, --verbose, --yes, interactivity), typed
// errors and exit codes, redaction, the dry-run hook for every change. Every task is one task() call; runTask() runs
// one as a function of its inputs (in-process in tests) and is the one place that catches errors and picks the exit code.
delete process.env.NODE_OPTIONS // .npmrc's preload (lib/boot/boot.mjs) must not leak into child processes

import { readFileSync, realpathSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, relative, resolve, sep } from 'node:path'
import { EXIT, CancelledError, StackyardError, UsageError } from '../core/errors.ts'
import { parseArgv, renderHelp, type ArgDecl, type FlagDecls, type Flags } from '../core/flags.ts'
import { log, out, setVerbose, color, type Logger } from '../core/log.ts'
import type { Runner } from '../core/exec.ts'
import { checkContextName, contextRunners } from '../core/docker-context.ts'
import { clackAsk, isInteractiveTerminal, noTerminalAsk, type Ask } from '../core/prompt.ts'
import { redact, registerSecrets } from '../core/redact.ts'
import { inScope, newSecretSet, type InStream, type OutStream, type Scope, type Spawner } from '../core/scope.ts'
import { secretValues } from '../env/secrecy.ts'
import { loadEnvLayers, EnvFileError, type EnvLayers } from '../env/layers.ts'
import { reportSweptWith, writeFileAtomic } from '../core/fs-atomic.ts'
import { editEnvFile } from '../env/file.ts'
import { loadRegistry, type Registry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { readEngine, readSettings, type Settings } from '../model/settings.ts'
import { ENGINES, type Engine } from '../model/x-fields.ts'
import { composeEnv } from '../model/layered-env.ts'

export interface TaskDef<F extends FlagDecls> {
  summary: string
  description?: string
  args?: readonly ArgDecl[]
  flags?: F
  /** accepts --dry-run: changes are shown, not made */
  dryRun?: boolean
  /** accepts --json: data on stdout as JSON */
  json?: boolean
  /** accepts --yes / -y: confirmations are answered yes */
  yes?: boolean
  /** talks to Docker: accepts --context NAME, and every `docker` command of exec/change carries it */
  docker?: boolean
  /** runs under STACKYARD_ENGINE=swarm too; a docker task without it refuses that engine (exit 2: not built yet) */
  swarm?: boolean
  examples?: readonly string[]
  run(ctx: TaskContext<F>): Promise<number | void>
}

export interface WriteOptions {
  mode?: number
  backup?: boolean
  /** the content is secret: previews never show it */
  secret?: boolean
}

/** What the command line decided: flags, positional arguments and the common modes. */
interface Modes<F extends FlagDecls> {
  flags: Flags<F>
  args: Record<string, string | string[] | undefined>
  dryRun: boolean
  json: boolean
  verbose: boolean
  yes: boolean
  interactive: boolean
  /** --context: the Docker context every docker command runs against (undefined: Docker's current one) */
  dockerContext?: string
  /** --engine: compose or swarm for this run (undefined: STACKYARD_ENGINE) */
  engine?: Engine
}

export interface TaskContext<F extends FlagDecls> extends Modes<F> {
  root: string
  log: Logger
  /** data to stdout (redacted) */
  out(data: unknown): void
  /** the layered environment (.env.global < .env < .env.infisical < shell), loaded on first use */
  readonly env: EnvLayers
  /** the stack registry from compose/, loaded on first use */
  readonly registry: Registry
  /** STACKYARD_ENVIRONMENT, DOMAIN, profiles, engine (with --engine)… validated (ConfigError when invalid) */
  readonly settings: Settings
  /** runs commands that only read */
  exec: Runner
  /** runs commands that change something; under --dry-run prints them instead */
  change: Runner
  /** records a change that --dry-run skipped (HTTP clients, custom steps); printed like commands */
  skipped(what: string): void
  /** what --dry-run skipped, in order */
  readonly plan: readonly string[]
  /**
   * atomic write (temp + fsync + rename), creating the folder; identical content is left alone and reported as
   * unchanged (also under --dry-run, which says what would be written and writes nothing)
   */
  writeFile(path: string, content: string, opts?: WriteOptions): Promise<{ changed: boolean }>
  /** set/add/remove keys of an env file keeping comments and order; atomic, with a backup */
  editEnv(path: string, changes: Record<string, string | null>, opts?: { mode?: number }): Promise<{ changed: string[]; added: string[]; removed: string[] }>
  ask: Ask
  /** asks for confirmation (or takes --yes); refusal is CancelledError; no terminal and no --yes is a usage error */
  confirm(message: string, opts?: { typed?: string }): Promise<void>
  /** path relative to the repo root, for messages */
  rel(path: string): string
  /** aborted when Ctrl-C arrives while `undoable` work runs: that work stops at its next step and undoes itself */
  readonly signal: AbortSignal
  /**
   * Runs work that undoes itself on failure (a rotation): a first Ctrl-C meanwhile aborts `signal` instead of
   * exiting, so the work can put back what it changed and end with CancelledError (exit 130); a second one exits.
   */
  undoable<T>(work: () => Promise<T>): Promise<T>
}

/** Where Ctrl-C goes: the harness's handler asks `held()` before exiting and aborts `controller` instead. */
export interface Interrupts {
  controller: AbortController
  held(): boolean
  hold<T>(work: () => Promise<T>): Promise<T>
}

export function interrupts(): Interrupts {
  const controller = new AbortController()
  let holding = 0
  return {
    controller,
    held: () => holding > 0,
    async hold(work) {
      holding++
      try {
        return await work()
      } finally {
        holding--
      }
    },
  }
}

const COMMON: FlagDecls = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  verbose: { type: 'boolean', short: 'v', help: 'show commands, requests and stack traces' },
  interactive: { type: 'boolean', help: 'allow prompts (default: only when stdin is a terminal); --no-interactive never prompts' },
}
const DRY_RUN: FlagDecls = { 'dry-run': { type: 'boolean', help: 'show what would change; change nothing' } }
const JSON_FLAG: FlagDecls = { json: { type: 'boolean', help: 'print data as JSON on stdout' } }
const YES: FlagDecls = { yes: { type: 'boolean', short: 'y', help: 'answer yes to confirmations' } }
/** `--stack NAME…`: the one declaration of the flag every stack task takes (read it with stacksNamed, lib/model/routes.ts) */
export const stackFlag = (help: string) => ({ type: 'strings', placeholder: 'NAME', help }) as const

const CONTEXT: FlagDecls = {
  context: { type: 'string', placeholder: 'NAME', help: 'Docker context to run against, e.g. a remote host over SSH (docker context ls); default: Docker\'s current one' },
  engine: { type: 'string', choices: ENGINES, help: 'compose or swarm for this run (default STACKYARD_ENGINE, else compose)' },
}

/** The task file's own arguments: everything after the script path in process.argv. */
export function taskArgv(argv: readonly string[] = process.argv, root: string = repoRoot): { script: string; rest: string[] } {
  const tasksDir = resolve(root, 'tasks') + sep
  for (let i = 1; i < argv.length; i++) {
    const p = resolve(argv[i])
    if (p.startsWith(tasksDir) && p.endsWith('.ts')) return { script: relative(root, p), rest: argv.slice(i + 1) }
  }
  return { script: relative(root, resolve(argv[1] ?? 'task.ts')), rest: argv.slice(2) }
}

/**
 * A task file's one call: `export default await task({…}, import.meta)`. Run as the script (`npx zx tasks/x.ts`, or
 * node with a TypeScript loader) it runs the task with the process's own streams, environment and signals and sets the exit code;
 * imported (a test running it in-process with runTask), it only hands the definition back. Without `entry` it always
 * runs (a one-off task a test writes).
 */
export async function task<F extends FlagDecls>(def: TaskDef<F>, entry?: { filename: string }): Promise<TaskDef<F>> {
  if (entry && !isEntry(entry.filename)) return def
  let settled = false
  const cancel = interrupts()
  const onExit = () => {
    if (!settled && (process.exitCode === undefined || process.exitCode === 0)) {
      process.stderr.write('task ended before finishing (stdin closed?)\n')
      process.exitCode = EXIT.failure
    }
  }
  const onSigint = () => {
    if (cancel.held() && !cancel.controller.signal.aborted) {
      process.stderr.write('\ncancelling: putting back what this run changed (Ctrl-C again stops at once and leaves it half done)\n')
      cancel.controller.abort()
      return
    }
    process.stderr.write('\ncancelled\n')
    settled = true
    process.exit(EXIT.cancelled) // top level only: nothing is half-written, writes are atomic
  }
  process.on('exit', onExit)
  process.on('SIGINT', onSigint)
  try {
    const { script, rest } = taskArgv(process.argv)
    process.exitCode = await runTask(def, {
      argv: rest,
      root: repoRoot,
      script,
      env: process.env,
      cwd: process.cwd(),
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      readStdin: () => readFileSync(0, 'utf8'),
      cancel,
    })
  } finally {
    settled = true
    process.off('SIGINT', onSigint)
  }
  return def
}

/**
 * Is this file the script the process runs? node names it as its first argument, zx (which imports it) as one of
 * its own arguments: any argument naming this very file counts (symbolic links resolved; node resolves them too).
 */
export function isEntry(filename: string, argv: readonly string[] = process.argv): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p)
    } catch {
      return undefined
    }
  }
  const self = real(filename) ?? filename
  return argv.slice(1).some((a) => !a.startsWith('-') && real(resolve(a)) === self)
}

/** What one run of a task gets: its arguments, the root folder, the streams, the environment and how programs start. */
export interface TaskIO {
  /** the task's own arguments (what follows the script path) */
  argv: readonly string[]
  root: string
  /** the script as --help shows it: tasks/up.ts */
  script: string
  /** the calling environment */
  env: Record<string, string | undefined>
  /** the working folder (relative paths in flags); default: root */
  cwd?: string
  stdout: OutStream
  stderr: OutStream
  stdin: InStream
  /** all of stdin at once (--secrets-stdin); default: read stdin to its end (synchronously only for the process's own) */
  readStdin?: () => string
  /** how programs start; default: spawned */
  spawner?: Spawner
  /** where Ctrl-C goes (the process entry installs the handler); default: nothing interrupts */
  cancel?: Interrupts
}

/**
 * Runs a task to its end and returns its exit code. Everything the run sets up (logger streams, --verbose, the secrets
 * redaction knows, the environment programs get) belongs to the run's scope (lib/core/scope.ts) and ends with it.
 */
export function runTask<F extends FlagDecls>(def: TaskDef<F>, io: TaskIO): Promise<number> {
  const s: Scope = {
    stdout: io.stdout,
    stderr: io.stderr,
    stdin: io.stdin,
    readStdin: io.readStdin ?? (() => { throw new UsageError('this run has no stdin to read whole') }),
    env: io.env,
    cwd: io.cwd ?? io.root,
    verbose: false,
    secrets: newSecretSet(),
    spawner: io.spawner,
  }
  return inScope(s, () => runInScope(def, io))
}

async function runInScope<F extends FlagDecls>(def: TaskDef<F>, io: TaskIO): Promise<number> {
  let json = false
  try {
    const { script, argv: rest } = io
    const common: FlagDecls = { ...(def.dryRun ? DRY_RUN : {}), ...(def.json ? JSON_FLAG : {}), ...(def.yes ? YES : {}), ...(def.docker ? CONTEXT : {}), ...COMMON }
    const own = def.flags ?? ({} as F)
    for (const k of Object.keys(own)) if (k in common) throw new Error(`task declares common flag --${k}`)
    // --help needs no required argument (`restore.ts --help` shows the help, not "missing argument ARCHIVE")
    const wantsHelp = rest.includes('--help') || rest.includes('-h')
    const parsed = parseArgv(rest, { ...own, ...common }, (def.args ?? []).map((a) => (wantsHelp ? { ...a, required: false } : a)))
    const f = parsed.flags as Record<string, unknown>
    json = Boolean(f.json)
    if (f.help) {
      out(renderHelp({ command: `npx zx ${script}`, summary: def.summary, description: def.description, args: def.args ?? [], flags: own, common, examples: def.examples }))
      return EXIT.ok
    }
    const verbose = Boolean(f.verbose)
    setVerbose(verbose)
    const interactive = typeof f.interactive === 'boolean' ? f.interactive && isInteractiveTerminal() : isInteractiveTerminal()
    if (f.interactive === true && !isInteractiveTerminal())
      throw new UsageError('--interactive needs a terminal (stdin is not a TTY)', { hint: 'drop --interactive and pass the values as flags' })
    const ctx = createContext(def, {
      flags: f as Flags<F>,
      args: parsed.args,
      dryRun: Boolean(f.dryRun),
      json,
      verbose,
      yes: Boolean(f.yes),
      interactive,
      dockerContext: typeof f.context === 'string' ? checkContextName(f.context) : undefined,
      engine: typeof f.engine === 'string' ? (f.engine as Engine) : undefined,
    }, io.root, io.cancel)
    if (def.docker && !def.swarm && engineOf(ctx) === 'swarm')
      throw new UsageError(`npx zx ${script} does not work with the swarm engine yet (${ctx.engine ? '--engine swarm' : 'STACKYARD_ENGINE=swarm'})`, {
        hint: 'README "Engines: compose or swarm" lists the tasks that do; for this one, use --engine compose on a compose installation',
      })
    const code = await def.run(ctx)
    return typeof code === 'number' ? code : EXIT.ok
  } catch (err) {
    return report(err, json)
  }
}

/**
 * The engine of this run: --engine, else STACKYARD_ENGINE, else compose. An unreadable env file counts as compose:
 * the task reports it in full on that path (after its preflight, so the Compose version is still recorded).
 */
export function runEngine(ctx: Pick<TaskContext<FlagDecls>, 'env' | 'engine'>): Engine {
  return engineOf(ctx) ?? 'compose'
}

/** The engine of this run for the harness's guard; an unreadable env file is left to the task, which reports it in full. */
function engineOf(ctx: Pick<TaskContext<FlagDecls>, 'env' | 'engine'>): Engine | undefined {
  try {
    return readEngine(ctx.env.values, ctx.env, ctx.engine)
  } catch (err) {
    if (err instanceof EnvFileError) return undefined
    throw err
  }
}

/** Builds the context a task's run() gets. Exported for tests of tasks' building blocks. */
export function createContext<F extends FlagDecls>(def: Pick<TaskDef<F>, 'yes'>, modes: Modes<F>, root: string = repoRoot, cancel: Interrupts = interrupts()): TaskContext<F> {
  const plan: string[] = []
  const skipped = (what: string) => {
    plan.push(what)
    if (modes.json) log.info(`[dry-run] ${what}`)
    else out(`[dry-run] ${what}`)
  }
  let env: EnvLayers | undefined
  let registry: Registry | undefined
  const rel = (p: string) => relative(root, resolve(root, p)) || '.'
  const ask = modes.interactive ? clackAsk() : noTerminalAsk()
  // the one place docker commands get their runners: --context cannot be missed by any of them
  const runners = contextRunners(modes.dockerContext, { dryRun: modes.dryRun, skipped })
  // a write first removes the copies an interrupted earlier write left beside its file: say so, by name only
  reportSweptWith((paths) => {
    for (const p of paths) log.warn(`removed ${rel(p)}: a temp file an interrupted earlier write left behind (it held a copy of the file)`)
  })
  const ctx: TaskContext<F> = {
    root,
    ...modes,
    log,
    out,
    get env() {
      if (!env) env = loadPlatformEnv(root, () => ctx.registry)
      return env
    },
    get registry() {
      if (!registry) registry = loadRegistry(root)
      return registry
    },
    get settings() {
      return readSettings(ctx.env.values, ctx.env, modes.engine ? { engine: modes.engine } : {})
    },
    exec: runners.exec,
    change: runners.change,
    skipped,
    plan,
    async writeFile(path, content, opts = {}) {
      const abs = resolve(root, path)
      if (modes.dryRun) {
        if ((await readFile(abs, 'utf8').catch(() => undefined)) === content) return { changed: false }
        skipped(`write ${rel(abs)}${opts.mode !== undefined ? ` (mode ${opts.mode.toString(8).padStart(4, '0')})` : ''}${opts.secret ? '' : `, ${content.split('\n').length} lines`}`)
        return { changed: true }
      }
      await mkdir(dirname(abs), { recursive: true })
      const r = await writeFileAtomic(abs, content, { mode: opts.mode, backup: opts.backup })
      if (r.changed) log.debug(`wrote ${rel(abs)}`)
      return { changed: r.changed }
    },
    async editEnv(path, changes, opts = {}) {
      const abs = resolve(root, path)
      if (modes.dryRun) {
        const { planEnvFileEdit } = await import('../env/file.ts')
        const { readFile } = await import('node:fs/promises')
        const text = await readFile(abs, 'utf8').catch(() => '')
        const p = planEnvFileEdit(text, changes)
        const parts = [...p.added.map((k) => `+${k}`), ...p.changed.map((k) => `~${k}`), ...p.removed.map((k) => `-${k}`)]
        if (parts.length) skipped(`edit ${rel(abs)}: ${parts.join(' ')}`)
        return { changed: p.changed, added: p.added, removed: p.removed }
      }
      const r = await editEnvFile(abs, changes, { mode: opts.mode ?? 0o600, backup: true })
      return { changed: r.changed, added: r.added, removed: r.removed }
    },
    ask,
    async confirm(message, opts = {}) {
      if (modes.yes) return
      if (!modes.interactive)
        throw new UsageError(`"${message}" needs a confirmation and there is no terminal`, { hint: def.yes ? 'pass --yes to confirm' : 'run it in a terminal' })
      if (opts.typed) {
        const answer = await ask.text({ message: `${message}\n  Type "${opts.typed}" to confirm` })
        if (answer.trim() !== opts.typed) throw new CancelledError('not confirmed')
        return
      }
      if (!(await ask.confirm({ message, initialValue: false }))) throw new CancelledError('not confirmed')
    },
    rel,
    signal: cancel.controller.signal,
    undoable: (work) => cancel.hold(work),
  }
  return ctx
}

/**
 * The layered environment plus the derived layer (route URLs), with every secret value registered for
 * redaction. The derived layer needs the settings, which come from the files: so two passes. An invalid
 * registry or invalid settings leave the derived layer out; they are reported where they are used.
 */
export function loadPlatformEnv(root: string, registry: () => Registry): EnvLayers {
  let layers: EnvLayers | undefined
  let declared = new Set<string>()
  try {
    const reg = registry()
    declared = new Set(reg.secrets.keys())
    layers = composeEnv(root, reg, undefined).layers
  } catch (err) {
    if (err instanceof EnvFileError) throw err
  }
  // without a readable registry or settings: the files and the shell, no derived layer
  layers ??= loadEnvLayers({ root })
  // every layer's value of a secret key (lib/env/secrecy.ts), and secrets that only the calling shell holds
  // (e.g. INFISICAL_ADMIN_PASSWORD, CLOUDFLARE_API_TOKEN)
  registerSecrets(secretValues(layers, declared))
  return layers
}

/** Prints an error once (message, where, hint; the stack only with --verbose) and returns the exit code. */
export function report(err: unknown, json = false): number {
  const e = err as Error & { hint?: string; exitCode?: number }
  let code: number = EXIT.failure
  if (err instanceof StackyardError) code = err.exitCode
  else if (err instanceof EnvFileError) code = EXIT.usage
  else if (typeof e?.exitCode === 'number') code = e.exitCode
  const known = err instanceof StackyardError || err instanceof EnvFileError
  const message = redact(known ? e.message : `unexpected error: ${e?.message ?? String(err)}`)
  if (code === EXIT.cancelled) log.warn(message)
  else log.error(message)
  if (e?.hint) log.info(color.dim(`hint: ${redact(e.hint)}`))
  if (!known) log.info(color.dim('this is a bug in Stackyard; run again with --verbose for the stack trace'))
  if (e?.stack) log.debug(redact(e.stack))
  if (json) out({ error: { message, hint: e?.hint ? redact(e.hint) : undefined, exitCode: code } })
  return code
}
