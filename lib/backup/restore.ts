// `restore`: open a backup archive (decrypt and verify every entry against the manifest while it streams, writing
// nothing), check every name in the manifest against what the registry declares and every secret file it would write,
// plan what it replaces; then unpack only the planned files into a private folder (verified again), write the secret
// files, stop the affected stacks and their dependants, restore each stack in dependency order (data stores started
// alone for their dumps, volumes and snapshots written through a throwaway container), and start everything with `up`.
// Docker through the context's runners (dry-run aware); files through ctx.writeFile. No manifest value reaches a shell,
// and no line of a dump does either (psql reads it with backslash commands restricted: lib/backup/psql-restrict.ts).
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, statfs } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ConfigError, FailureError } from '../core/errors.ts'
import { ArchiveError, openArchive, type OpenedArchive } from './archive.ts'
import { manifestIndex, type Manifest, type ManifestEntry } from './manifest.ts'
import { archivePath, isDatabaseName, parseDatabaseList, pg, pgUser, volume, type PgSpec } from './methods.ts'
import { namedVolumeKeys } from '../model/volumes.ts'
import { composeReach, swarmReach, type ComposeTarget, type ServiceReach } from './reach.ts'
import type { Engine } from '../model/x-fields.ts'
import { swarmUp } from '../swarm/up.ts'
import { scaleServices, stackServices, waitStopped } from '../swarm/state.ts'
import { EnvFileError, loadEnvLayers } from '../env/layers.ts'
import { ensureNetworks, checkDocker } from '../docker/preflight.ts'
import { externalNetworks, unsetRequired } from '../docker/stack-plan.ts'
import { composeEnv } from '../model/layered-env.ts'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import type { Registry, Service, Stack } from '../model/registry.ts'
import { stackRows } from '../stacks/status.ts'
import { selectedStacks } from '../model/routes.ts'
import { readSettings } from '../model/settings.ts'
import { STATE_DIR } from '../core/paths.ts'
import { plural, table } from '../core/format.ts'
import { restrictedPsqlInput } from './psql-restrict.ts'
import { up, type UpReport } from '../stacks/up.ts'
import { loadPlatformEnv } from '../task/task.ts'
import { scope } from '../core/scope.ts'
import type { Readable } from 'node:stream'
import type { Runner } from '../core/exec.ts'

export interface OpenedBackup {
  path: string
  archive: OpenedArchive
  manifest: Manifest
  encrypted: boolean
  /** files verified (the manifest included) */
  verified: number
  /** the manifest's bytes as verified (a later pass must read the same) */
  index: Buffer
  /** the secret files' bytes by archive name: kept in memory, never in a temp file */
  secrets: Map<string, Buffer>
  /** the files unpacked for the restore (stageBackup), by archive name */
  staged: Map<string, string>
  /** the private folder they are in */
  dir?: string
}

/**
 * Opens and verifies an archive in one streaming pass that writes nothing: manifest.json first, then every file it
 * lists with exactly its size and sha256, nothing unlisted, safe paths, the encryption tag; the secret files are kept
 * in memory. Any problem is an ArchiveError (exit 2), raised before anything is written anywhere.
 */
export async function openBackup(path: string, passphrase?: () => Promise<string>): Promise<OpenedBackup> {
  const archive = await openArchive(path, { passphrase })
  try {
    const index = manifestIndex(basename(path))
    const r = await archive.scan({ index, keep: (name) => index.manifest().secrets.some((s) => s.file === name) })
    return { path, archive, manifest: index.manifest(), encrypted: archive.encrypted, verified: r.entries.size + 1, index: r.index, secrets: r.kept, staged: new Map() }
  } catch (err) {
    await archive.close()
    throw err
  }
}

export interface ServiceRestore {
  stack: Stack
  service: string
  entries: ManifestEntry[]
  /** pg_dump: the superuser to load the dumps as, from the registry (never from the manifest) */
  user?: string
}

export interface RestorePlan {
  /** stacks whose data is restored, in dependency order */
  stacks: Stack[]
  services: ServiceRestore[]
  /** secret files to write */
  secrets: Manifest['secrets']
  /** stacks stopped during the restore: the restored ones and every stack that comes after them */
  affected: Stack[]
}

/** Stacks that come after any of these, transitively (they consume their data). */
function dependants(registry: Registry, stacks: readonly Stack[]): Stack[] {
  const names = new Set(stacks.map((s) => s.name))
  let grew = true
  while (grew) {
    grew = false
    for (const s of registry.stacks) if (!names.has(s.name) && s.after.some((a) => names.has(a))) grew = names.add(s.name) !== undefined
  }
  return registry.stacks.filter((s) => names.has(s.name))
}

/** Orders a stack's services so that what others depend on (depends_on) comes first. */
export function dependencyOrder(stack: Stack, names: readonly string[]): string[] {
  const deps = (name: string): string[] => {
    const d = stack.services.find((s) => s.name === name)?.raw.depends_on
    return Array.isArray(d) ? d.map(String) : d && typeof d === 'object' ? Object.keys(d) : []
  }
  const out: string[] = []
  const visit = (n: string, seen: Set<string>) => {
    if (out.includes(n) || seen.has(n)) return
    seen.add(n)
    deps(n).forEach((d) => visit(d, seen))
    if (names.includes(n)) out.push(n)
  }
  const declared = stack.services.map((s) => s.name).filter((n) => names.includes(n))
  declared.forEach((n) => visit(n, new Set()))
  return out
}

/**
 * What one manifest entry may be, given what the service declares: its method and kind, its volume, file and
 * database names, and the exact file name in the archive all follow from the registry. Returns the problems.
 */
function entryProblems(stack: Stack, service: Service, e: ManifestEntry): string[] {
  const where = `${stack.name}/${service.name}`
  const spec = service.backup
  const q = (v: unknown) => JSON.stringify(v)
  if (!spec || spec.method === 'none') return [`${where}: a ${e.method} backup, but the service declares ${spec ? 'x-backup none' : 'no x-backup'}`]
  if (e.method !== spec.method) return [`${where}: a ${e.method} backup, but its x-backup method is ${spec.method}`]
  const kinds = { pg_dump: ['globals', 'database', 'settings'], snapshot: ['snapshot'], volume: ['volume'] }[spec.method]
  if (!kinds.includes(e.kind)) return [`${where}: kind ${q(e.kind)} is not one of ${kinds.join(', ')} (${spec.method})`]
  const problems: string[] = []
  const file = (want: string) => e.file !== want && problems.push(`${where}: file ${q(e.file)} should be ${q(want)}`)
  if (e.kind === 'globals') {
    if (!(spec as PgSpec).globals) problems.push(`${where}: a roles dump, but its x-backup says globals: false`)
    file(archivePath.globals(stack.name, service.name))
  } else if (e.kind === 'database' || e.kind === 'settings') {
    const dbs = (spec as PgSpec).databases
    if (e.database === undefined || !isDatabaseName(e.database)) problems.push(`${where}: database ${q(e.database)} is not a database name this backup can have written`)
    else if (dbs && !dbs.includes(e.database)) problems.push(`${where}: database ${q(e.database)} is not in its x-backup.databases (${dbs.join(', ')})`)
    else file(archivePath[e.kind](stack.name, service.name, e.database))
    if (e.owner !== undefined && !isDatabaseName(e.owner)) problems.push(`${where}: owner ${q(e.owner)} is not a role name`)
  } else if (spec.method === 'snapshot') {
    if (e.volume !== spec.volume) problems.push(`${where}: volume ${q(e.volume)} should be ${q(spec.volume)} (x-backup.volume)`)
    if (e.target !== spec.file) problems.push(`${where}: target ${q(e.target)} should be ${q(spec.file)} (x-backup.file)`)
    file(archivePath.snapshot(stack.name, service.name, spec.file))
  } else if (spec.method === 'volume') {
    const keys = spec.volumes ?? namedVolumeKeys(service.raw.volumes)
    if (e.volume === undefined || !keys.includes(e.volume)) problems.push(`${where}: volume ${q(e.volume)} is not one it backs up (${keys.join(', ')})`)
    else file(archivePath.volume(stack.name, service.name, e.volume))
  }
  return problems
}

/**
 * The restore plan: which stacks and services, in which order. Every name in the manifest is checked against what
 * the registry declares before it is used (stacks, services, methods, volumes, files, databases); the manifest's own
 * user is ignored (the registry names the superuser). A mismatch is exit 2 with nothing touched.
 */
export function planRestore(registry: Registry, manifest: Manifest, only: readonly string[], o: { secrets: boolean }): RestorePlan {
  const wanted = only.length ? only.map((n) => registry.stack(n).name) : [...new Set(manifest.stacks)]
  const notInArchive = wanted.filter((n) => !manifest.stacks.includes(n))
  if (notInArchive.length) throw new ConfigError(`the archive holds no backup of ${notInArchive.join(', ')}`, { hint: `it holds: ${manifest.stacks.join(', ')}` })
  const unknown = [...new Set(manifest.entries.filter((e) => wanted.includes(e.stack)).filter((e) => !registry.services.some((s) => s.stack === e.stack && s.name === e.service)).map((e) => `${e.stack}/${e.service}`))]
  const unknownStacks = wanted.filter((n) => !registry.stacks.some((s) => s.name === n))
  if (unknownStacks.length || unknown.length)
    throw new ConfigError(`the archive has ${[...unknownStacks, ...unknown].join(', ')}, which this repository does not declare`, { hint: 'restore with the Stackyard version that wrote it, or leave those stacks out with --stack' })
  const stacks = registry.stacks.filter((s) => wanted.includes(s.name))
  const problems: string[] = []
  const services: ServiceRestore[] = []
  for (const stack of stacks) {
    const entries = manifest.entries.filter((e) => e.stack === stack.name)
    for (const name of dependencyOrder(stack, [...new Set(entries.map((e) => e.service))])) {
      const service = stack.services.find((s) => s.name === name)!
      const mine = entries.filter((e) => e.service === name)
      for (const e of mine) problems.push(...entryProblems(stack, service, e))
      const spec = service.backup
      services.push({ stack, service: name, entries: order(mine), ...(spec?.method === 'pg_dump' ? { user: pgUser(service, spec) } : {}) })
    }
  }
  for (const f of manifest.secrets) if (f.file !== archivePath.secret(f.name)) problems.push(`secret file ${f.name}: file ${JSON.stringify(f.file)} should be ${JSON.stringify(archivePath.secret(f.name))}`)
  if (new Set(manifest.secrets.map((f) => f.name)).size !== manifest.secrets.length) problems.push('a secret file is listed twice')
  if (problems.length)
    throw new ArchiveError(`the archive's manifest does not match what this repository declares (${plural(problems.length, 'problem')}): ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? '; …' : ''}`, {
      hint: 'nothing was changed; restore with the Stackyard version that wrote the archive (its commit is in the manifest), or leave those stacks out with --stack',
    })
  return { stacks, services, secrets: o.secrets ? manifest.secrets : [], affected: dependants(registry, stacks) }
}

/**
 * The secret files a restore would write, checked before anything is written: UTF-8 text that Compose parses in its
 * place among the env layers (the archive's .env / .env.infisical with the other files as they are here, the shell
 * over them), with settings the platform accepts. A bad one is an ArchiveError (exit 2): nothing is touched.
 */
export function checkSecretFiles(root: string, plan: RestorePlan, opened: Pick<OpenedBackup, 'path' | 'secrets'>, shell: Record<string, string | undefined> = scope().env): Map<string, string> {
  if (!plan.secrets.length) return new Map()
  const where = basename(opened.path)
  const bad = (message: string, hint: string) => new ArchiveError(`${where}: ${message}`, { hint: `nothing was changed; ${hint}` })
  const texts = new Map<string, string>()
  for (const f of plan.secrets) {
    try {
      texts.set(f.name, new TextDecoder('utf-8', { fatal: true }).decode(opened.secrets.get(f.file)!))
    } catch {
      throw bad(`its ${f.name} is not UTF-8 text`, `restore without the secret files (--no-secrets), or use another backup`)
    }
  }
  let values: Record<string, string>
  try {
    // the archive's files in their place, the others as they are here, the shell over them: the one loader (and its
    // secret-layer rule) that every task uses
    values = loadEnvLayers({ root, shell, contents: texts }).values
  } catch (err) {
    if (!(err instanceof EnvFileError)) throw err
    const ours = texts.has(err.file)
    const message = ours ? err.message.replace(err.file, `the archive's ${err.file}`) : err.message
    throw bad(`${message}: Compose could not read it after the restore`, ours ? `${err.hint}; or restore without the secret files (--no-secrets)` : err.hint)
  }
  try {
    readSettings(values)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw bad(`with its secret files, ${err.message}`, 'restore without the secret files (--no-secrets), or use another backup')
  }
  return texts
}

/**
 * Every stack the restore stops or starts must be one Compose can read afterwards: the variables its compose files
 * require (`${X:?}`) set by the env as it will be (the archive's secret files in their place). Checked before
 * anything is touched; otherwise the restore would stop stacks it then cannot start (exit 2, nothing changed).
 */
export function checkStartable(root: string, registry: Registry, plan: RestorePlan, opened: Pick<OpenedBackup, 'path' | 'manifest'>, texts: ReadonlyMap<string, string>, noSecrets: boolean): void {
  const env = composeEnv(root, registry, undefined, { contents: texts })
  const missing = plan.affected.map((stack) => ({ stack, vars: unsetRequired(registry, stack, env.settings.environment, env.layers.lookup) })).filter((m) => m.vars.length)
  if (!missing.length) return
  const names = [...new Set(missing.flatMap((m) => m.vars.map((v) => v.name)))]
  const stacks = missing.map((m) => m.stack.name).join(', ')
  const noEnv = !texts.has('.env') && !existsSync(join(root, '.env'))
  const held = opened.manifest.secrets.length > 0
  const cause = noEnv ? (held ? 'there is no .env here and --no-secrets leaves the archive\'s out' : 'there is no .env here and the archive holds no secret files') : `${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''} would be unset`
  throw new ConfigError(`${basename(opened.path)}: ${stacks} cannot be stopped or started after this restore: ${cause} (${plural(names.length, 'required variable')})`, {
    hint: `nothing was changed; ${
      noSecrets && held ? 'drop --no-secrets to restore the archive\'s secret files' : noEnv ? 'restore an archive written by backup.ts --include-secrets, or run npx zx tasks/setup.ts here first, then restore' : 'run npx zx tasks/secrets.ts generate (or set them in .env), then restore'
    }`,
  })
}

/** roles before databases; databases by name */
function order(entries: ManifestEntry[]): ManifestEntry[] {
  const rank = { globals: 0, database: 1, settings: 2, snapshot: 3, volume: 4 }
  return [...entries].sort((a, b) => rank[a.kind] - rank[b.kind] || (a.database ?? a.file).localeCompare(b.database ?? b.file))
}

const kb = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 ** 2).toFixed(1)} MB`)

/** What will be replaced, one row per file. */
export function renderPlan(plan: RestorePlan, manifest: Manifest, root: string): string {
  const rows = [['service', 'replaces', 'size', 'from image']]
  for (const s of plan.services)
    for (const e of s.entries) {
      const what =
        e.kind === 'globals' ? 'PostgreSQL roles (created when missing)' : e.kind === 'database' ? `database ${e.database} (created if missing; its objects dropped and recreated)` : e.kind === 'settings' ? `grants and settings of database ${e.database}` : e.kind === 'snapshot' ? `${e.target} in volume ${e.volume}` : `everything in volume ${e.volume}`
      rows.push([`${s.stack.name}/${s.service}`, what, kb(e.size), e.digest ?? e.image])
    }
  for (const f of plan.secrets) {
    const current = existsSync(join(root, f.name)) ? createHash('sha256').update(readFileSync(join(root, f.name))).digest('hex') : undefined
    rows.push(['secrets', `${f.name} (${!current ? 'new' : current === f.sha256 ? 'unchanged' : 'the current one is kept as .bak'})`, kb(f.size), ''])
  }
  const head = `backup of ${manifest.createdAt}${manifest.context ? ` (context ${manifest.context})` : ''}, Stackyard ${manifest.stackyard.version}${manifest.stackyard.commit ? ` ${manifest.stackyard.commit.slice(0, 12)}` : ''}`
  const stops = plan.affected.length ? `\nstopped while restoring, then started: ${plan.affected.map((s) => s.name).join(', ')}` : ''
  return `${head}\n${table(rows)}${stops}`
}

export interface RestoreOptions {
  timeout: number
  skipInfisical: boolean
  helperImage: string
  /** labels of the helper containers (a drill finds and removes its own by them) */
  helperLabels?: Record<string, string>
  /** the engine that runs the stacks (default compose) */
  engine?: Engine
}

export interface RestoreReport {
  restored: Array<{ stack: string; service: string; file: string }>
  secrets: string[]
  stopped: string[]
  up: UpReport
}

/**
 * Unpacks the files the plan restores into a private folder under .stackyard/ (0700; each file 0600, created
 * exclusively), reading and verifying the archive a second time: it must be the archive that was verified (same
 * manifest, every checksum again). The free space is checked first. Secret files stay in memory. A failure removes
 * the folder and leaves nothing else behind.
 */
export async function stageBackup(root: string, opened: OpenedBackup, plan: RestorePlan): Promise<void> {
  const entries = plan.services.flatMap((s) => s.entries)
  if (!entries.length) return
  const names = new Map(entries.map((e, i) => [e.file, `entry-${i}`]))
  const need = entries.reduce((n, e) => n + e.size, 0)
  const base = join(root, STATE_DIR)
  await mkdir(base, { recursive: true })
  const fs = await statfs(base)
  const free = fs.bavail * fs.bsize
  if (need > free)
    throw new FailureError(`not enough free space to unpack the backup: it needs ${kb(need)} under ${STATE_DIR}/, ${kb(free)} are free`, { hint: 'free some space, or restore fewer stacks at once with --stack; nothing was changed' })
  const dir = await mkdtemp(join(base, 'restore-'))
  opened.dir = dir
  await chmod(dir, 0o700)
  const index = manifestIndex(basename(opened.path))
  const r = await opened.archive.scan({ index, extractTo: (name) => (names.has(name) ? join(dir, names.get(name)!) : undefined) })
  if (!r.index.equals(opened.index))
    throw new ArchiveError(`${basename(opened.path)} changed while it was being restored (its manifest is not the one verified)`, { hint: 'nothing was changed; make sure nothing writes the archive, and run the restore again' })
  for (const [name, path] of r.extracted) opened.staged.set(name, path)
}

/** Carries out a plan. `ctx.env` is reloaded after secret files are written (the env Compose gets changed). */
export async function runRestore(ctx: StackCtx, opened: OpenedBackup, plan: RestorePlan, o: RestoreOptions): Promise<RestoreReport> {
  // everything the restore feeds is unpacked and verified before the first write
  if (!ctx.dryRun) await stageBackup(ctx.root, opened, plan)
  const secrets: string[] = []
  for (const f of plan.secrets) {
    const existed = existsSync(join(ctx.root, f.name))
    const r = await ctx.writeFile(f.name, opened.secrets.get(f.file)!.toString('utf8'), { mode: 0o600, backup: true, secret: true })
    if (!r.changed) continue
    secrets.push(f.name)
    if (!ctx.dryRun) ctx.log.success(`restored ${f.name} (mode 0600${existed ? `; the previous one is ${f.name}.bak` : ''})`)
  }
  // the env Compose gets changed only when a secret file was written: then (and only then) it is read again
  const fresh: StackCtx = secrets.length && !ctx.dryRun ? { ...ctx, env: loadPlatformEnv(ctx.root, () => ctx.registry) } : ctx
  await checkDocker(fresh)
  const p = loadPlatform(fresh, { profiles: 'declared', generating: false })

  if (o.engine === 'swarm') return swarmRestore(ctx, fresh, p, opened, plan, o, secrets)

  // stop what is restored and what consumes it, dependants first
  const stopped: string[] = []
  for (const stack of [...plan.affected].reverse()) {
    // a dry run may lack the secret files it would have written (a fresh clone): Compose cannot read the stack then
    const rows = await stackRows(fresh, p, stack).catch((err: unknown) => {
      if (fresh.dryRun) return undefined
      throw err
    })
    const running = rows?.filter((r) => r.State === 'running') ?? []
    if (rows && !running.length) continue
    if (running.length) ctx.log.step(`${stack.name}: stopping ${running.map((r) => r.Service).join(', ')}`)
    const r = await p.run(fresh.change, stack, ['stop'])
    if (r.exitCode !== 0) throw new FailureError(`${stack.name}: docker compose stop failed: ${r.stderr.trim().split('\n').pop()}`, { hint: 'nothing was restored yet; see npx zx tasks/status.ts' })
    stopped.push(stack.name)
  }
  await ensureNetworks([...new Set(plan.stacks.flatMap((s) => externalNetworks(ctx.root, s)))], fresh)

  const restored = await restoreServices(fresh, composeReach(fresh, { run: p.run, project: (s) => s.project }), opened, plan, o)

  // everything back, healthy: the restored stacks, what they come after, and what was stopped
  const stacks = restartList(p, plan, stopped)
  if (ctx.dryRun) return dryRunReport(ctx, p, stacks, { restored, secrets, stopped })
  const report = await up(fresh, { stacks, skipInfisical: o.skipInfisical, timeout: o.timeout })
  return { restored, secrets, stopped, up: report }
}

/** the stacks a restore starts at the end: the restored ones, what they come after, and what it stopped (this host's) */
function restartList(p: Platform, plan: RestorePlan, stopped: readonly string[]): string[] {
  const here = selectedStacks(p.registry, p.settings)
  const start = [...new Set([...plan.stacks.map((s) => s.name), ...stopped])].filter((n) => here.has(n))
  return start.length ? start : plan.stacks.map((s) => s.name)
}

function dryRunReport(ctx: StackCtx, p: Platform, stacks: readonly string[], r: Omit<RestoreReport, 'up'>): RestoreReport {
  // up would check secrets and files the dry run did not write: say what runs instead
  ctx.skipped(`npx zx tasks/up.ts ${stacks.map((n) => `--stack ${n}`).join(' ')}${p.context ? ` --context ${p.context}` : ''}   # starts them, waits for health`)
  return { ...r, up: { environment: p.settings.environment, stacks: [], reachable: [], caddyfileChanged: false, secretLayer: null } }
}

/**
 * The restore under swarm, the same steps as under compose: a restored stack that is not deployed is deployed first
 * (its services and volumes exist then); every affected stack's services are scaled to 0, dependants first, and
 * waited for until their containers are gone; the data is written (a database service scaled back to one task alone
 * for its dumps; volumes through a helper container on this node); then `up` deploys the stacks as derived (replicas
 * back to what the stack file says) and waits until every service is healthy. On several nodes the volumes and the
 * tasks are on the nodes that run them: this engine must be that node (lib/backup/reach.ts).
 */
async function swarmRestore(ctx: StackCtx, fresh: StackCtx, p: Platform, opened: OpenedBackup, plan: RestorePlan, o: RestoreOptions, secrets: string[]): Promise<RestoreReport> {
  const missing: string[] = []
  for (const stack of plan.stacks) if (!(await stackServices(fresh.exec, stack.project)).length) missing.push(stack.name)
  if (missing.length && !ctx.dryRun) {
    ctx.log.step(`${missing.join(', ')}: not deployed: deploying first (their services and volumes), then restoring into them`)
    const r = await swarmUp(fresh, { stacks: missing, skipInfisical: o.skipInfisical, timeout: o.timeout })
    const bad = r.stacks.filter((s) => s.status !== 'ok')
    if (bad.length) throw new FailureError(`${bad.map((s) => s.stack).join(', ')} could not be deployed to restore into: ${bad.map((s) => s.because ?? s.status).join('; ')}`, { hint: 'nothing was restored yet; npx zx tasks/status.ts' })
  }
  const stopped: string[] = []
  for (const stack of [...plan.affected].reverse()) {
    const services = (await stackServices(fresh.exec, stack.project)).filter((s) => s.replicas > 0 || s.tasks.length)
    if (!services.length) continue
    ctx.log.step(`${stack.name}: scaling ${services.map((s) => s.service).join(', ')} to 0`)
    await scaleServices(fresh, stack.project, services, 0)
    if (!ctx.dryRun) await waitStopped(fresh.exec, stack.project, services.map((s) => s.service), { timeoutS: o.timeout })
    stopped.push(stack.name)
  }
  const restored = await restoreServices(fresh, swarmReach(fresh, p), opened, plan, o)
  const stacks = restartList(p, plan, stopped)
  if (ctx.dryRun) return dryRunReport(ctx, p, stacks, { restored, secrets, stopped })
  const report = await swarmUp(fresh, { stacks, skipInfisical: o.skipInfisical, timeout: o.timeout })
  return { restored, secrets, stopped, up: report }
}

/**
 * Where a plan's data is written: the running platform's stacks, or a restore drill's throwaway compose projects
 * (lib/backup/restore-drill.ts), under either engine (lib/backup/reach.ts). Everything else about a restore is the same.
 */
export type RestoreTarget = ComposeTarget

/**
 * Writes the staged data of every planned service through `reach`, in plan order: a pg_dump service is started alone
 * and its roles, databases and settings loaded through psql (backslash commands restricted); volumes and snapshots
 * are written through a throwaway helper container into the service's volumes (created if missing; the service stays
 * stopped). The first failure stops it (FailureError naming the service and step). Returns the files restored.
 */
export async function restoreServices(ctx: Pick<StackCtx, 'exec' | 'change' | 'dryRun' | 'log'>, reach: ServiceReach, opened: OpenedBackup, plan: RestorePlan, o: Pick<RestoreOptions, 'timeout' | 'helperImage' | 'helperLabels'>): Promise<RestoreReport['restored']> {
  const restored: RestoreReport['restored'] = []
  const stream = (e: ManifestEntry) => (ctx.dryRun ? undefined : createReadStream(opened.staged.get(e.file)!))
  // a dump goes to psql with backslash commands restricted: no line of it reaches a shell (\!) in the container
  const sqlStream = (e: ManifestEntry): Readable | undefined => {
    const file = stream(e)
    if (!file) return undefined
    const guard = restrictedPsqlInput()
    file.on('error', (err) => guard.destroy(err))
    return file.pipe(guard)
  }
  const must = (r: { exitCode: number; stderr: string }, what: string) => {
    if (r.exitCode !== 0) throw new FailureError(`${what} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-4).join(' ') || 'no error output'}`, { hint: 'the restore stopped here: services restored before this one have their backed-up data; run the restore again once the cause is fixed' })
  }
  for (const s of plan.services) {
    const where = `${s.stack.name}/${s.service}`
    if (s.entries.some((e) => e.method === 'pg_dump')) {
      ctx.log.step(`${where}: starting it alone to load its dump`)
      await reach.startAlone(s.stack, s.service, o.timeout)
      const user = s.user ?? 'postgres'
      const exec = (runner: Runner, cmd: string[], stdin?: Readable) => reach.exec(runner, s.stack, s.service, cmd, { stdin })
      // a dry run runs nothing inside containers: it shows the loads (missing databases are created first)
      const listed = ctx.dryRun ? undefined : await exec(ctx.exec, pg.list(user))
      if (listed && listed.exitCode !== 0) throw new FailureError(`${where}: cannot list its databases: ${listed.stderr.trim().split('\n').pop()}`, { hint: 'is it healthy? npx zx tasks/logs.ts' })
      const existing = new Set(listed ? parseDatabaseList(listed.stdout).map((d) => d.name) : s.entries.map((e) => e.database ?? ''))
      for (const e of s.entries) {
        if (e.kind === 'globals') must(await exec(ctx.change, pg.restoreGlobals(user), sqlStream(e)), `${where}: roles`)
        if (e.kind === 'settings') {
          must(await exec(ctx.change, pg.restoreSettings(user), sqlStream(e)), `${where}: grants and settings of ${e.database}`)
          restored.push({ stack: s.stack.name, service: s.service, file: e.file })
        }
        if (e.kind !== 'database') continue
        if (!existing.has(e.database!)) must(await exec(ctx.change, pg.createDatabase(user, e.database!, e.owner || user)), `${where}: CREATE DATABASE ${e.database}`)
        must(await exec(ctx.change, pg.restoreDatabase(user, e.database!), sqlStream(e)), `${where}: database ${e.database}`)
        restored.push({ stack: s.stack.name, service: s.service, file: e.file })
      }
      if (s.entries.some((e) => e.kind === 'globals')) restored.push({ stack: s.stack.name, service: s.service, file: s.entries.find((e) => e.kind === 'globals')!.file })
      continue
    }
    // volumes and snapshots: the service stays stopped; its volumes are created if missing
    ctx.log.step(`${where}: writing ${s.entries.map((e) => e.volume).join(', ')}`)
    await reach.createStopped(s.stack, s.service)
    for (const e of s.entries) {
      const names = await reach.volumes(s.stack, e.volume!)
      if (!names.length && !ctx.dryRun) throw new FailureError(`${where}: volume ${e.volume} was not created`, { hint: `check its volumes: in ${s.stack.file}` })
      const name = names[0] ?? `<volume ${e.volume} of ${s.stack.project}>`
      const helper = volume.runArgs(name, o.helperImage, { readOnly: false, stdin: true, labels: o.helperLabels })
      const cmd = e.kind === 'snapshot' ? volume.putFile(e.target!) : volume.extract()
      must(await ctx.change('docker', [...helper, ...cmd], { nothrow: true, stdin: stream(e) }), `${where}: volume ${e.volume}`)
      restored.push({ stack: s.stack.name, service: s.service, file: e.file })
    }
  }

  return restored
}

/** Removes the unpacked files, forgets the secret files' bytes, closes the archive. */
export async function closeBackup(opened: OpenedBackup): Promise<void> {
  for (const b of opened.secrets.values()) b.fill(0)
  if (opened.dir) await rm(opened.dir, { recursive: true, force: true })
  await opened.archive.close()
}
