// Test helpers: a temporary copy of the repository (a separate platform) with the fake docker on PATH,
// and a runner for its tasks: in-process by default (the task's definition run by runTask, the fake engine answering
// docker in this process), spawned as `npx zx tasks/<task>` would (task-command.ts) when asked or when only a process can do it.
// Used by end-to-end tests; never by product code. Every run is scanned for leaked secrets.
import { appendFileSync, chmodSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawn } from 'node:child_process'
import { Readable, Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { runTask, type TaskDef } from '../../lib/task/task.ts'
import type { FlagDecls } from '../../lib/core/flags.ts'
import { fakeDockerSpawner } from './fake-spawner.ts'
import { taskCommand } from './task-command.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'
import { isSecretFrom } from '../../lib/env/secrecy.ts'

export const REPO = resolve(import.meta.dirname, '..', '..')
const COPY = ['package.json', '.npmrc', 'tsconfig.json', '.env.global', '.gitignore', 'lib', 'tasks', 'compose', 'caddy', 'cloudflared', 'infisical', 'test/fake-docker']

export interface DockerCall {
  argv: string[]
  cwd: string
  stdinBytes: number
  env: Record<string, string | undefined>
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface TempRepo {
  root: string
  /** write a file relative to the root (mode optional) */
  write(path: string, content: string, mode?: number): void
  read(path: string): string
  exists(path: string): boolean
  /** scripted answers for the fake docker (see test/fake-docker/docker) */
  dockerRules(rules: Array<{ match?: string[]; regex?: string; stdout?: string; stderr?: string; exit?: number; times?: number }>): void
  dockerCalls(): DockerCall[]
  dockerState(): Record<string, unknown>
  resetDocker(): void
  /** run tasks/<task> against the copy with the fake docker first on PATH: in-process, or as
   *  `npx zx tasks/<task>` in the copy (RunOptions.spawn, and always for the real engine) */
  run(task: string, args?: string[], opts?: RunOptions): Promise<RunResult>
  cleanup(): void
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string
  /** a process: what only a process shows (its exit, signals, the loader); implied by timeoutMs and maxFileBytes */
  spawn?: boolean
  /** kills the spawned task after this long (implies spawn): for a run that could block the whole process */
  timeoutMs?: number
  /** a run that has not ended after this long fails (in-process: the run is left behind, so not for one that could
   *  block the process: use timeoutMs; spawned: killed) */
  deadlineMs?: number
  /** no file the task writes may grow past this: RLIMIT_FSIZE through prlimit (implies spawn) */
  maxFileBytes?: number
  /** the leak scan (see scanForLeaks) skips these keys, or every key with `true`: only for a run that is meant to
   *  print a secret (e.g. `env.ts --reveal KEY`) */
  allowSecrets?: true | string[]
}

/** The secret files the leak scan reads, and the shortest value it looks for (shorter ones may occur by chance). */
const SCANNED_FILES = ['.env', '.env.infisical']
const SCAN_MIN_LENGTH = 8

/** The secret values (lib/env/secrecy.ts rule, length ≥ 8) of the copy's .env and .env.infisical, with their keys. */
function secretsIn(root: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of SCANNED_FILES) {
    let values: Record<string, string>
    try {
      // only a regular file (the corpus plants FIFOs and devices where .env goes: opening one would wait for ever)
      if (!statSync(join(root, file)).isFile()) continue
      values = parseDotenv(readFileSync(join(root, file), 'utf8'))
    } catch {
      continue // missing, or planted unparseable on purpose (the corpus checks those by its own secrets list)
    }
    for (const [key, value] of Object.entries(values))
      if (value.length >= SCAN_MIN_LENGTH && isSecretFrom(key, { kind: 'file', file })) found.set(value, `${key} (${file})`)
  }
  return found
}

/**
 * Throws when a run printed a secret value of the copy's env files unmasked, naming the key (never the value).
 * Counts the scanned runs in os.tmpdir()/$STACKYARD_LEAK_SCAN_COUNT when that is set (one line per run).
 */
function scanForLeaks(task: string, before: Map<string, string>, after: Map<string, string>, r: RunResult, allow: RunOptions['allowSecrets']): void {
  const counter = process.env.STACKYARD_LEAK_SCAN_COUNT
  if (counter) appendFileSync(join(tmpdir(), counter.replace(/[/\\]/g, '_')), `${task}\n`)
  if (allow === true) return
  const out = r.stdout + r.stderr
  for (const [value, where] of [...before, ...after]) {
    if (allow?.includes(where.split(' ')[0])) continue
    if (out.includes(value)) throw new Error(`leak scan: ${task} printed the value of ${where} unmasked (exit ${r.code})`)
  }
}

export interface TempRepoOptions {
  files?: Record<string, string>
  /** 'real': tasks talk to the machine's Docker engine (test/real/); default: the fake docker first on PATH */
  engine?: 'fake' | 'real'
}

const sameFile = (a: string, b: string) => existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b))

/** a task file of this checkout, imported (not run): its definition */
async function taskDef(task: string): Promise<TaskDef<FlagDecls>> {
  const mod = (await import(pathToFileURL(join(REPO, 'tasks', task)).href)) as { default?: TaskDef<FlagDecls> }
  if (!mod.default?.run) throw new Error(`tasks/${task} does not export its definition (export default await task({…}, import.meta))`)
  return mod.default
}

/** a stream that keeps what is written to it */
function collector(): Writable & { text(): string } {
  const chunks: Buffer[] = []
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk)
      done()
    },
  })
  return Object.assign(w, { text: () => Buffer.concat(chunks).toString('utf8') })
}

/** Runs the task in this process against `root`, as the spawned one would run: same argv, environment, cwd and stdin. */
/** the run, or a failure once `ms` have passed without its end */
function withDeadline<T>(run: Promise<T>, ms: number | undefined, task: string): Promise<T> {
  if (ms === undefined) return run
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`tasks/${task} did not end within ${ms} ms`)), ms)
  })
  return Promise.race([run, late]).finally(() => clearTimeout(timer))
}

async function runInProcess(root: string, task: string, args: readonly string[], env: Record<string, string | undefined>, input: string): Promise<RunResult> {
  const def = await taskDef(task)
  const stdout = collector()
  const stderr = collector()
  const stdin = Readable.from(input ? [Buffer.from(input)] : [])
  const code = await runTask(def, { argv: args, root, script: `tasks/${task}`, env, cwd: root, stdout, stderr, stdin, readStdin: () => input, spawner: fakeDockerSpawner })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

export function tempRepo(opts: TempRepoOptions = {}): TempRepo {
  const real = opts.engine === 'real'
  // a spawned task runs from a bundle named by its sources' content, not their paths: a fresh path costs nothing
  const root = mkdtempSync(join(tmpdir(), real ? 'stackyard-real-' : 'stackyard-test-'))
  for (const p of COPY) if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(root, p), { recursive: true, filter: (src) => !/\/(\.env|\.env\.infisical|\.stackyard)$/.test(src) })
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
  const dockerDir = join(root, '.test-docker')
  mkdirSync(dockerDir)
  const logPath = join(dockerDir, 'calls.jsonl')
  const rulesPath = join(dockerDir, 'rules.json')
  const statePath = join(dockerDir, 'state.json')
  const repo: TempRepo = {
    root,
    write(path, content, mode) {
      const abs = join(root, path)
      mkdirSync(resolve(abs, '..'), { recursive: true })
      writeFileSync(abs, content, mode === undefined ? undefined : { mode })
      if (mode !== undefined) chmodSync(abs, mode)
    },
    read: (path) => readFileSync(join(root, path), 'utf8'),
    exists: (path) => existsSync(join(root, path)),
    dockerRules: (rules) => writeFileSync(rulesPath, JSON.stringify(rules)),
    dockerCalls: () =>
      existsSync(logPath)
        ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DockerCall)
        : [],
    dockerState: () => (existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : {}),
    resetDocker() {
      for (const p of [logPath, statePath]) rmSync(p, { force: true })
    },
    run(task, args = [], o = {}) {
      const env: Record<string, string | undefined> = {
        ...process.env,
        PATH: real ? process.env.PATH : `${join(root, 'test', 'fake-docker')}:${process.env.PATH}`,
        FAKE_DOCKER_LOG: logPath,
        FAKE_DOCKER_RULES: rulesPath,
        FAKE_DOCKER_STATE: statePath,
        NO_COLOR: '1',
        CI: '1',
        ...o.env,
      }
      delete env.NODE_OPTIONS
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
      const secretsBefore = secretsIn(root)
      // a task file the test wrote or changed in the copy exists only there: it runs as a process of the copy
      const ownTask = !sameFile(join(REPO, 'tasks', task), join(root, 'tasks', task))
      const spawned = real || ownTask || o.spawn || o.timeoutMs !== undefined || o.maxFileBytes !== undefined
      const ran = spawned ? undefined : withDeadline(runInProcess(root, task, args, env, o.input ?? ''), o.deadlineMs, task)
      return (ran ?? new Promise<RunResult>((resolvePromise, reject) => {
        const argv = taskCommand(root, task, args)
        const limited = o.maxFileBytes === undefined ? argv : ['prlimit', `--fsize=${o.maxFileBytes}`, '--', ...argv]
        const child = spawn(limited[0], limited.slice(1), { cwd: root, env: env as NodeJS.ProcessEnv })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d) => (stdout += d))
        child.stderr.on('data', (d) => (stderr += d))
        // a run that asked for a limit gets it; otherwise only a hang is stopped (10 minutes: no slow run on a loaded
        // machine comes near it)
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? o.deadlineMs ?? 600_000)
        child.on('error', reject)
        child.on('close', (code) => {
          clearTimeout(timer)
          resolvePromise({ code, stdout, stderr })
        })
        child.stdin.end(o.input ?? '')
      })).then((r) => {
        scanForLeaks(task, secretsBefore, secretsIn(root), r, o.allowSecrets)
        return r
      })
    },
    cleanup() {
      if (!existsSync(root)) return
      rmSync(root, { recursive: true, force: true })
    },
  }
  for (const [p, c] of Object.entries(opts.files ?? {})) repo.write(p, c)
  return repo
}
