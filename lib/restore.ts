// `restore`: open a backup archive (decrypt, extract into a private folder, verify every checksum against the
// manifest before anything is touched), plan what it replaces, then: secret files, stop the affected stacks and
// their dependants, restore each stack in dependency order (data stores started alone for their dumps, volumes and
// snapshots written through a throwaway container), and start everything with `up`, which waits for health.
// Docker through the context's runners (dry-run aware); files through ctx.writeFile.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, FailureError } from './errors.ts'
import { ArchiveError, readArchive, type ExtractedEntry } from './archive.ts'
import { MANIFEST_FILE, parseManifest, verifyEntries, type Manifest, type ManifestEntry } from './backup-manifest.ts'
import { parseDatabaseList, pg, volume } from './backup-methods.ts'
import { execCommand, upCommand } from './compose.ts'
import { findVolumes } from './infisical-reset.ts'
import { ensureNetworks, checkDocker } from './preflight.ts'
import { externalNetworks } from './stack-plan.ts'
import { loadPlatform, type StackCtx } from './platform.ts'
import type { Registry, Stack } from './registry.ts'
import { stackRows } from './status.ts'
import { selectedStacks } from './routes.ts'
import { STATE_DIR } from './paths.ts'
import { plural, table } from './format.ts'
import { up, type UpReport } from './up.ts'
import { loadPlatformEnv } from './task.ts'
import type { Readable } from 'node:stream'
import type { Runner } from './exec.ts'

export interface OpenedBackup {
  path: string
  dir: string
  manifest: Manifest
  files: Map<string, ExtractedEntry>
  encrypted: boolean
}

/**
 * Extracts and verifies an archive into a private folder under .stackyard/: every listed file present with its size
 * and sha256, nothing unlisted. Any problem is an ArchiveError (exit 2) and leaves nothing behind.
 */
export async function openBackup(root: string, path: string, passphrase?: () => Promise<string>): Promise<OpenedBackup> {
  await mkdir(join(root, STATE_DIR), { recursive: true })
  const dir = await mkdtemp(join(root, STATE_DIR, 'restore-'))
  try {
    const { entries, encrypted } = await readArchive(path, dir, { passphrase })
    const files = new Map(entries.map((e) => [e.name, e]))
    const m = files.get(MANIFEST_FILE)
    if (!m) throw new ArchiveError(`${path} has no ${MANIFEST_FILE}`, { hint: 'this is not an archive written by tasks/backup.ts' })
    const manifest = parseManifest(readFileSync(m.path, 'utf8'), path)
    const problems = verifyEntries(manifest, files)
    if (problems.length)
      throw new ArchiveError(`${path} failed verification (${plural(problems.length, 'problem')}): ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? '; …' : ''}`, {
        hint: 'the archive is corrupt or was changed after it was written; nothing was changed here. Use another backup',
      })
    return { path, dir, manifest, files, encrypted }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

export interface ServiceRestore {
  stack: Stack
  service: string
  entries: ManifestEntry[]
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
function dependencyOrder(stack: Stack, names: readonly string[]): string[] {
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

export function planRestore(registry: Registry, manifest: Manifest, only: readonly string[], o: { secrets: boolean }): RestorePlan {
  const wanted = only.length ? only.map((n) => registry.stack(n).name) : manifest.stacks
  const notInArchive = wanted.filter((n) => !manifest.stacks.includes(n))
  if (notInArchive.length) throw new ConfigError(`the archive holds no backup of ${notInArchive.join(', ')}`, { hint: `it holds: ${manifest.stacks.join(', ')}` })
  const unknown = [...new Set(manifest.entries.filter((e) => wanted.includes(e.stack)).filter((e) => !registry.services.some((s) => s.stack === e.stack && s.name === e.service)).map((e) => `${e.stack}/${e.service}`))]
  const unknownStacks = wanted.filter((n) => !registry.stacks.some((s) => s.name === n))
  if (unknownStacks.length || unknown.length)
    throw new ConfigError(`the archive has ${[...unknownStacks, ...unknown].join(', ')}, which this repository does not declare`, { hint: 'restore with the Stackyard version that wrote it, or leave those stacks out with --stack' })
  const stacks = registry.stacks.filter((s) => wanted.includes(s.name))
  const services: ServiceRestore[] = []
  for (const stack of stacks) {
    const entries = manifest.entries.filter((e) => e.stack === stack.name)
    for (const name of dependencyOrder(stack, [...new Set(entries.map((e) => e.service))]))
      services.push({ stack, service: name, entries: order(entries.filter((e) => e.service === name)) })
  }
  return { stacks, services, secrets: o.secrets ? manifest.secrets : [], affected: dependants(registry, stacks) }
}

/** roles before databases; databases by name */
function order(entries: ManifestEntry[]): ManifestEntry[] {
  const rank = { globals: 0, database: 1, snapshot: 2, volume: 3 }
  return [...entries].sort((a, b) => rank[a.kind] - rank[b.kind] || (a.database ?? a.file).localeCompare(b.database ?? b.file))
}

const kb = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 ** 2).toFixed(1)} MB`)

/** What will be replaced, one row per file. */
export function renderPlan(plan: RestorePlan, manifest: Manifest, root: string): string {
  const rows = [['service', 'replaces', 'size', 'from image']]
  for (const s of plan.services)
    for (const e of s.entries) {
      const what =
        e.kind === 'globals' ? 'PostgreSQL roles (created when missing)' : e.kind === 'database' ? `database ${e.database} (created if missing; its objects dropped and recreated)` : e.kind === 'snapshot' ? `${e.target} in volume ${e.volume}` : `everything in volume ${e.volume}`
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
}

export interface RestoreReport {
  restored: Array<{ stack: string; service: string; file: string }>
  secrets: string[]
  stopped: string[]
  up: UpReport
}

/** Carries out a plan. `ctx.env` is reloaded after secret files are written (the env Compose gets changed). */
export async function runRestore(ctx: StackCtx, opened: OpenedBackup, plan: RestorePlan, o: RestoreOptions): Promise<RestoreReport> {
  const secrets: string[] = []
  for (const f of plan.secrets) {
    const existed = existsSync(join(ctx.root, f.name))
    const r = await ctx.writeFile(f.name, readFileSync(opened.files.get(f.file)!.path, 'utf8'), { mode: 0o600, backup: true, secret: true })
    if (!r.changed) continue
    secrets.push(f.name)
    if (!ctx.dryRun) ctx.log.success(`restored ${f.name} (mode 0600${existed ? `; the previous one is ${f.name}.bak` : ''})`)
  }
  // the env Compose gets changed only when a secret file was written: then (and only then) it is read again
  const fresh: StackCtx = secrets.length && !ctx.dryRun ? { ...ctx, env: loadPlatformEnv(ctx.root, () => ctx.registry) } : ctx
  await checkDocker(fresh)
  const p = loadPlatform(fresh, { profiles: 'declared', generating: false })

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

  const restored: RestoreReport['restored'] = []
  const stream = (e: ManifestEntry) => (fresh.dryRun ? undefined : createReadStream(opened.files.get(e.file)!.path))
  const must = (r: { exitCode: number; stderr: string }, what: string) => {
    if (r.exitCode !== 0) throw new FailureError(`${what} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-4).join(' ') || 'no error output'}`, { hint: 'the restore stopped here: services restored before this one have their backed-up data; run the restore again once the cause is fixed' })
  }
  for (const s of plan.services) {
    const where = `${s.stack.name}/${s.service}`
    if (s.entries.some((e) => e.method === 'pg_dump')) {
      ctx.log.step(`${where}: starting it alone to load its dump`)
      must(await p.run(fresh.change, s.stack, upCommand({ timeout: o.timeout, services: [s.service] })), `${where}: start`)
      const user = s.entries.find((e) => e.user)?.user ?? 'postgres'
      const exec = (runner: Runner, cmd: string[], stdin?: Readable) => p.run(runner, s.stack, execCommand(s.service, cmd), { stdin })
      // a dry run runs nothing inside containers: it shows the loads (missing databases are created first)
      const listed = fresh.dryRun ? undefined : await exec(fresh.exec, pg.list(user))
      if (listed && listed.exitCode !== 0) throw new FailureError(`${where}: cannot list its databases: ${listed.stderr.trim().split('\n').pop()}`, { hint: 'is it healthy? npx zx tasks/logs.ts' })
      const existing = new Set(listed ? parseDatabaseList(listed.stdout).map((d) => d.name) : s.entries.map((e) => e.database ?? ''))
      for (const e of s.entries) {
        if (e.kind === 'globals') must(await exec(fresh.change, pg.restoreGlobals(user), stream(e)), `${where}: roles`)
        if (e.kind !== 'database') continue
        if (!existing.has(e.database!)) must(await exec(fresh.change, pg.createDatabase(user, e.database!, e.owner || user)), `${where}: CREATE DATABASE ${e.database}`)
        must(await exec(fresh.change, pg.restoreDatabase(user, e.database!), stream(e)), `${where}: database ${e.database}`)
        restored.push({ stack: s.stack.name, service: s.service, file: e.file })
      }
      if (s.entries.some((e) => e.kind === 'globals')) restored.push({ stack: s.stack.name, service: s.service, file: s.entries.find((e) => e.kind === 'globals')!.file })
      continue
    }
    // volumes and snapshots: the service stays stopped; Compose creates its container and volumes if missing
    ctx.log.step(`${where}: writing ${s.entries.map((e) => e.volume).join(', ')}`)
    must(await p.run(fresh.change, s.stack, ['up', '--no-start', '--no-deps', s.service]), `${where}: create`)
    for (const e of s.entries) {
      const names = await findVolumes(fresh.exec, s.stack.project, e.volume!)
      if (!names.length && !fresh.dryRun) throw new FailureError(`${where}: volume ${e.volume} was not created by Compose`, { hint: `check its volumes: in ${s.stack.file}` })
      const name = names[0] ?? `<volume ${e.volume} of ${s.stack.project}>`
      const helper = volume.runArgs(name, o.helperImage, { readOnly: false, stdin: true })
      const cmd = e.kind === 'snapshot' ? volume.putFile(e.target!) : volume.extract()
      must(await fresh.change('docker', [...helper, ...cmd], { nothrow: true, stdin: stream(e) }), `${where}: volume ${e.volume}`)
      restored.push({ stack: s.stack.name, service: s.service, file: e.file })
    }
  }

  // everything back, healthy: the restored stacks, what they come after, and what was stopped
  const here = selectedStacks(p.registry, p.settings)
  const start = [...new Set([...plan.stacks.map((s) => s.name), ...stopped])].filter((n) => here.has(n))
  const stacks = start.length ? start : plan.stacks.map((s) => s.name)
  if (ctx.dryRun) {
    // up would check secrets and files the dry run did not write: say what runs instead
    ctx.skipped(`npx zx tasks/up.ts ${stacks.map((n) => `--stack ${n}`).join(' ')}${p.context ? ` --context ${p.context}` : ''}   # starts them, waits for health`)
    return { restored, secrets, stopped, up: { environment: p.settings.environment, stacks: [], reachable: [], caddyfileChanged: false, secretLayer: null } }
  }
  const report = await up(fresh, { stacks, skipInfisical: o.skipInfisical, timeout: o.timeout })
  return { restored, secrets, stopped, up: report }
}

export async function closeBackup(opened: OpenedBackup): Promise<void> {
  await rm(opened.dir, { recursive: true, force: true })
}
