// Differential test: Stackyard's env engine (lib/env/dotenv.ts, lib/env/layers.ts, lib/env/compose-rules.ts) against the real
// `docker compose … config --format json`, on generated env files (test/helpers/env-gen.ts). Two kinds of case:
// - single file: a service's `env_file:` (many services, one Compose process per batch); its `environment` must
//   equal our parse of the file;
// - layering: a chain of `--env-file` plus shell variables; a service's `environment: {K: ${K-<unset>}}` for every
//   key must equal loadEnvLayers(...).lookup(K), with the rules of the installed Compose.
// Errors must agree both ways. Deterministic: COMPOSE_DIFF_SEED (default below) and the case index give each case;
// a disagreement prints its seed and text. Needs the real docker CLI with the compose plugin (no engine): skips
// without it, except under CI=true. Sizes: COMPOSE_DIFF_SINGLE, COMPOSE_DIFF_LAYERS.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { EnvSyntaxError, scanDotenv, serializeEntry, type DotenvRules } from '../lib/env/dotenv.ts'
import { EnvFileError, loadEnvLayers } from '../lib/env/layers.ts'
import { rulesFor } from '../lib/env/compose-rules.ts'
import { FILE_KEYS, SHELL_KEYS, genEnvFile, genLayerCase, type LayerCase } from './helpers/env-gen.ts'

const SEED = Number(process.env.COMPOSE_DIFF_SEED ?? 20261206)
const N_SINGLE = Number(process.env.COMPOSE_DIFF_SINGLE ?? 3000)
const N_LAYERS = Number(process.env.COMPOSE_DIFF_LAYERS ?? 300)
const BATCH = 150
const PARALLEL = Number(process.env.COMPOSE_DIFF_PARALLEL ?? Math.max(2, availableParallelism() * 2))
const UNSET = '__STACKYARD_DIFF_UNSET__'
/** Every name a layering case can define (interpolatable ones: only those can be read back through `${K-…}`). */
const NAMES = [...new Set([...FILE_KEYS, ...SHELL_KEYS, 'N8N_URL', 'NOPE', 'PATH', 'HOME'])]
/** The shell of the single-file batches, besides PATH and HOME. */
const SINGLE_SHELL = { SH_A: 'from shell $x', SH_E: '', x: 'shell x' }

/** The first `docker` on PATH that is a binary (the project's fake, test/fake-docker/docker, is a node script). */
function resolveDocker(): { bin?: string; why: string; version?: string; plugin?: string } {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const bin = join(dir, 'docker')
    try {
      accessSync(bin, constants.X_OK)
    } catch {
      continue
    }
    if (readFileSync(bin).subarray(0, 2).toString() === '#!') continue
    const r = spawnSync(bin, ['compose', 'version', '--short'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 20_000 })
    if (r.status !== 0) return { why: `${bin} compose version failed: ${(r.stderr || r.stdout).trim()}` }
    const version = r.stdout.trim()
    return { bin, why: '', version, plugin: composePlugin(version) }
  }
  return { why: 'no docker CLI on PATH' }
}

/**
 * The compose plugin binary `docker compose` runs, found where the docker CLI looks for it, when it reports the same
 * version: run directly it is the same program without the docker CLI's own start in front (half the CPU per case).
 */
function composePlugin(version: string): string | undefined {
  const home = process.env.DOCKER_CONFIG ?? join(process.env.HOME ?? '/root', '.docker')
  const dirs = [join(home, 'cli-plugins'), '/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins']
  for (const dir of dirs) {
    const bin = join(dir, 'docker-compose')
    try {
      accessSync(bin, constants.X_OK)
    } catch {
      continue
    }
    const r = spawnSync(bin, ['version', '--short'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 20_000 })
    return r.status === 0 && r.stdout.trim() === version ? bin : undefined
  }
  return undefined
}

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** A tiny promise pool: at most PARALLEL Compose processes at once. */
let running = 0
const waiting: Array<() => void> = []
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await fn()
  } finally {
    running--
    waiting.shift()?.()
  }
}

/** `docker compose …`, or the plugin itself with the same arguments */
function composeRunner(docker: { bin: string; plugin?: string }, base: string) {
  const emptyDir = join(base, 'project')
  mkdirSync(emptyDir, { recursive: true })
  return (composeFile: string, envFiles: string[], shell: Record<string, string>): Promise<Run> =>
    limited(
      () =>
        new Promise<Run>((resolve) => {
          const args = [...(docker.plugin ? [] : ['compose']), '-f', composeFile, '--project-directory', emptyDir, ...envFiles.flatMap((f) => ['--env-file', f]), 'config', '--format', 'json']
          const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...shell }
          execFile(docker.plugin ?? docker.bin, args, { env, cwd: emptyDir, maxBuffer: 64 << 20, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
          )
        }),
    )
}

/** `config` prints every `$` of the model as `$$`. */
const escapeDollars = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('$', () => '$$')]))

const show = (s: string) => JSON.stringify(s)

test('env engine agrees with the real docker compose (differential)', { timeout: 300_000 }, async (t) => {
  const docker = resolveDocker()
  if (!docker.bin) {
    if (process.env.CI === 'true') assert.fail(`CI=true: the differential test needs the real docker compose: ${docker.why}`)
    t.skip(`no real docker compose: ${docker.why}`)
    return
  }
  const version = docker.version!
  assert.match(version, /^v?\d+\.\d+\.\d+/, `docker compose version --short printed ${show(version)}`)
  assert.notEqual(version, '2.39.1', "this is the test fake's version, not a real Compose")
  const rules: DotenvRules = rulesFor(version)
  const started = Date.now()
  const base = mkdtempSync(join(tmpdir(), 'stackyard-compose-diff-'))
  const compose = composeRunner({ bin: docker.bin, plugin: docker.plugin }, base)
  const disagreements: string[] = []
  /** how many values were compared (keys set in a single file; defined keys of a layering case) */
  let compared = 0
  const shellBase = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }
  try {
    // ---- single files through a service's env_file ----------------------------------------------------------
    // a service's env_file is read by compose-go's loader, with no setenv: scanDotenv is the model (loadEnvLayers
    // adds the --env-file-only setenv behaviour)
    const singleShell = new Map(Object.entries({ ...shellBase, ...SINGLE_SHELL }))
    const singleLookup = (name: string) => singleShell.get(name)
    interface Single {
      i: number
      seed: number
      text: string
      path: string
      ours: { env: Record<string, string> } | { error: EnvSyntaxError }
    }
    const singles: Single[] = []
    mkdirSync(join(base, 'single'))
    for (let i = 0; i < N_SINGLE; i++) {
      const seed = SEED + i
      const { text } = genEnvFile(seed)
      const path = join(base, 'single', `case${i}.env`)
      writeFileSync(path, text)
      let ours: Single['ours']
      try {
        const env = new Map<string, string>()
        scanDotenv(text, singleLookup, { env, rules })
        ours = { env: Object.fromEntries(env) }
      } catch (err) {
        if (!(err instanceof EnvSyntaxError)) throw err
        ours = { error: err }
      }
      singles.push({ i, seed, text, path, ours })
    }
    const composeFor = (cases: Single[]) => {
      const file = join(base, 'single', `compose-${cases[0].i}-${cases.length}.json`)
      const services = Object.fromEntries(cases.map((c) => [`c${c.i}`, { image: 'x', env_file: [c.path] }]))
      writeFileSync(file, JSON.stringify({ services }))
      return file
    }
    const singleReport = (c: Single, what: string) =>
      `single-file case ${c.i} (seed ${c.seed}, genEnvFile(${c.seed})): ${what}\n  file: ${show(c.text)}`
    const compareBatch = (cases: Single[], out: string) => {
      const services = JSON.parse(out).services as Record<string, { environment?: Record<string, string | null> }>
      for (const c of cases) {
        const theirs = services[`c${c.i}`]?.environment ?? {}
        const ours = escapeDollars((c.ours as { env: Record<string, string> }).env)
        compared += Object.keys(ours).length
        try {
          assert.deepEqual(theirs, ours)
        } catch {
          disagreements.push(singleReport(c, `environment differs\n  compose: ${JSON.stringify(theirs)}\n  ours:    ${JSON.stringify(ours)}`))
        }
      }
    }
    // a failing batch is bisected, so one file Compose rejects does not hide the others
    const runBatch = async (cases: Single[]): Promise<void> => {
      const r = await compose(composeFor(cases), [], SINGLE_SHELL)
      if (r.code === 0) return compareBatch(cases, r.stdout)
      if (cases.length === 1) {
        disagreements.push(singleReport(cases[0], `Compose rejects it, we accept it\n  compose: ${r.stderr.trim()}`))
        return
      }
      const half = Math.ceil(cases.length / 2)
      await Promise.all([runBatch(cases.slice(0, half)), runBatch(cases.slice(half))])
    }
    const runRejected = async (c: Single): Promise<void> => {
      const err = (c.ours as { error: EnvSyntaxError }).error
      const r = await compose(composeFor([c]), [], SINGLE_SHELL)
      if (r.code === 0) disagreements.push(singleReport(c, `we reject it (${err.message}), Compose accepts it`))
      else if (!r.stderr.includes(err.message)) disagreements.push(singleReport(c, `both reject it, with different messages\n  compose: ${r.stderr.trim()}\n  ours:    ${err.message}`))
    }
    const accepted = singles.filter((c) => 'env' in c.ours)
    const rejected = singles.filter((c) => 'error' in c.ours)
    const jobs: Array<Promise<void>> = []
    for (let i = 0; i < accepted.length; i += BATCH) jobs.push(runBatch(accepted.slice(i, i + BATCH)))
    for (const c of rejected) jobs.push(runRejected(c))

    // ---- layering: --env-file chains and the shell ----------------------------------------------------------
    const layerReport = (c: LayerCase, what: string) =>
      `layering case (seed ${c.seed}, genLayerCase(${c.seed})): ${what}\n  files: ${JSON.stringify(c.files)}\n  derived: ${JSON.stringify(c.derived)}\n  shell: ${JSON.stringify(c.shell)}`
    const layerComposeFile = join(base, 'layers.json')
    const environment = Object.fromEntries(NAMES.map((k) => [k, `\${${k}-${UNSET}}`]))
    writeFileSync(layerComposeFile, JSON.stringify({ services: { s: { image: 'x', environment } } }))
    let layerErrors = 0
    const runLayer = async (i: number): Promise<void> => {
      const c = genLayerCase(SEED + i)
      const dir = join(base, `layers-${i}`)
      mkdirSync(dir)
      const envFiles: string[] = []
      if (c.derived) {
        writeFileSync(join(dir, 'derived.env'), Object.entries(c.derived).map(([k, v]) => serializeEntry(k, v) + '\n').join(''))
        envFiles.push(join(dir, 'derived.env'))
      }
      for (const [name, text] of c.files) {
        writeFileSync(join(dir, name), text)
        envFiles.push(join(dir, name))
      }
      const shell = { ...shellBase, ...c.shell }
      let ours: { values: Record<string, string> } | { error: EnvFileError }
      try {
        const layers = loadEnvLayers({ root: dir, files: c.files.map(([name]) => name), contents: new Map(c.files), shell, derived: c.derived, rules })
        ours = { values: Object.fromEntries(NAMES.map((k) => [k, layers.lookup(k) ?? UNSET])) }
      } catch (err) {
        if (!(err instanceof EnvFileError)) throw err
        ours = { error: err }
      }
      const r = await compose(layerComposeFile, envFiles, c.shell)
      if ('error' in ours) {
        layerErrors++
        const cause = ours.error.syntax as EnvSyntaxError
        const setenv = cause.code === 'empty-key' || cause.code === 'nul-value'
        if (r.code === 0) disagreements.push(layerReport(c, `we reject it (${ours.error.message}), Compose accepts it`))
        else if (setenv ? !r.stderr.includes('setenv: invalid argument') : !r.stderr.includes(cause.message))
          disagreements.push(layerReport(c, `both reject it, with different messages\n  compose: ${r.stderr.trim()}\n  ours:    ${ours.error.message}`))
        return
      }
      if (r.code !== 0) {
        disagreements.push(layerReport(c, `Compose rejects it, we accept it\n  compose: ${r.stderr.trim()}`))
        return
      }
      const theirs = (JSON.parse(r.stdout).services.s.environment ?? {}) as Record<string, string>
      const expected = escapeDollars(ours.values)
      compared += Object.values(ours.values).filter((v) => v !== UNSET).length
      try {
        assert.deepEqual(theirs, expected)
      } catch {
        const diff = NAMES.filter((k) => theirs[k] !== expected[k]).map((k) => `${k}: compose ${show(theirs[k])}, ours ${show(expected[k])}`)
        disagreements.push(layerReport(c, `values differ: ${diff.join('; ')}`))
      }
    }
    for (let i = 0; i < N_LAYERS; i++) jobs.push(runLayer(i))
    await Promise.all(jobs)

    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    t.diagnostic(
      `docker compose ${version} (${docker.plugin ?? docker.bin}), seed ${SEED}: ${N_SINGLE} single-file cases (${rejected.length} rejected), ` +
        `${N_LAYERS} layering cases (${layerErrors} rejected), ${compared} values compared, ${disagreements.length} disagreements, ${seconds}s`,
    )
    if (disagreements.length) {
      assert.fail(`${disagreements.length} disagreement(s) with docker compose ${version} (COMPOSE_DIFF_SEED=${SEED}):\n\n` + disagreements.slice(0, 15).join('\n\n'))
    }
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
})
