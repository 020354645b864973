// Reset of the bundled Infisical: its services come from the registry (the `infisical` profile), their containers
// and volumes from Docker's compose labels (never guessed names); the database is dumped with pg_dump before anything
// is removed or emptied. Commands go through the runners handed in (reads: exec; changes: change, dry-run aware).
import { join } from 'node:path'
import { FailureError } from '../core/errors.ts'
import { BACKUP_DIR, prepareBackupDir } from '../core/backup-dir.ts'
import type { StackCtx } from '../docker/platform.ts'
import type { Runner } from '../core/exec.ts'
import type { Registry } from '../model/registry.ts'
import { INSTANCE_PROFILE } from './config.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'

export interface InstanceService {
  name: string
  /** named volume keys as written in the compose file (the com.docker.compose.volume label) */
  volumes: string[]
  role: 'database' | 'cache' | 'backend' | 'other'
  environment: Record<string, string | undefined>
}

export interface Instance {
  /** compose project name (com.docker.compose.project) */
  project: string
  services: InstanceService[]
}

export interface Container {
  id: string
  name: string
  service: string
  state: string
}

/** The bundled instance as declared: services of the infisical profile and the named volumes they mount. */
export function instanceOf(registry: Pick<Registry, 'stacks'>): Instance {
  for (const stack of registry.stacks) {
    const services = stack.services.filter((s) => s.profiles.includes(INSTANCE_PROFILE))
    if (!services.length) continue
    return {
      project: stack.project,
      services: services.map((s) => {
        const image = s.image ?? ''
        const role = /^(docker\.io\/)?(library\/)?postgres[:@]/.test(image) ? 'database' : /^(docker\.io\/)?(library\/)?(redis|valkey)/.test(image) ? 'cache' : s.route ? 'backend' : 'other'
        return { name: s.name, volumes: namedVolumes(s.raw.volumes), role, environment: serviceEnvironment(s.raw.environment) }
      }),
    }
  }
  throw new FailureError(`no service uses the compose profile "${INSTANCE_PROFILE}": there is no bundled Infisical to reset`, { hint: 'the bundled instance is declared in compose/00-infrastructure/docker-compose.yml' })
}

function namedVolumes(raw: unknown): string[] {
  if (!Array.isArray(raw)) return []
  const out: string[] = []
  for (const v of raw) {
    if (typeof v === 'string') {
      const source = v.split(':')[0]
      if (source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~') && v.includes(':')) out.push(source)
    } else if (v && typeof v === 'object' && (v as { type?: string }).type === 'volume' && typeof (v as { source?: unknown }).source === 'string') out.push((v as { source: string }).source)
  }
  return out
}

/** `docker ps -a` filtered by the compose project and service labels. */
export async function findContainers(exec: Runner, project: string, service: string): Promise<Container[]> {
  const r = await exec('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{json .}}'])
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { ID: string; Names: string; State?: string })
    .map((c) => ({ id: c.ID, name: c.Names, service, state: c.State ?? '' }))
}

/** `docker volume ls` filtered by the compose project and volume labels. */
export async function findVolumes(exec: Runner, project: string, volume: string): Promise<string[]> {
  const r = await exec('docker', ['volume', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.volume=${volume}`, '--format', '{{.Name}}'])
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)
}

export interface Found {
  containers: Container[]
  volumes: string[]
}

export async function findInstance(exec: Runner, instance: Instance): Promise<Found> {
  const containers: Container[] = []
  const volumes: string[] = []
  for (const s of instance.services) {
    containers.push(...(await findContainers(exec, instance.project, s.name)))
    for (const v of s.volumes) volumes.push(...(await findVolumes(exec, instance.project, v)))
  }
  return { containers, volumes: [...new Set(volumes)] }
}

export interface Database {
  container: Container
  user: string
  database: string
}

/** The running database container and the user/database the compose file gives it. */
export function databaseOf(instance: Instance, found: Found): Database | undefined {
  const svc = instance.services.find((s) => s.role === 'database')
  const container = svc && found.containers.find((c) => c.service === svc.name && c.state === 'running')
  if (!svc || !container) return undefined
  const user = literal(svc.environment.POSTGRES_USER) ?? 'postgres'
  return { container, user, database: literal(svc.environment.POSTGRES_DB) ?? user }
}

/** pg_dump inside the database container (local socket, no password in argv); refuses an incomplete dump. */
export async function dumpDatabase(change: Runner, db: Database): Promise<{ sql: string; skipped: boolean }> {
  const r = await change('docker', ['exec', db.container.id, 'pg_dump', '-U', db.user, '-d', db.database, '--clean', '--if-exists', '--no-owner'])
  if (r.skipped) return { sql: '', skipped: true }
  if (!/PostgreSQL database dump complete/.test(r.stdout))
    throw new FailureError(`pg_dump of ${db.database} in ${db.container.name} produced an incomplete dump; nothing was changed`, { hint: 'check the database container (docker logs) and try again' })
  return { sql: r.stdout, skipped: false }
}

export function backupName(now: Date = new Date()): string {
  return `${BACKUP_DIR}/infisical-${now.toISOString().replace(/[:.]/g, '-')}.sql`
}

export interface ResetReport {
  reset: 'data' | 'infra'
  /** the containers found (names) */
  containers: string[]
  /** the volumes removed (infra) */
  volumes: string[]
  /** the dump taken first, relative to the root (null: the database was not running) */
  backup: string | null
  /** nothing existed to remove */
  nothing: boolean
}

/**
 * The reset procedure: find the instance, confirm with a typed phrase, dump the database when it runs, then empty
 * the database and Redis (data: the backend stopped meanwhile) or remove the containers and exactly their volumes
 * (infra). Every change through ctx.change (dry-run aware).
 */
export async function resetInfisical(ctx: Pick<StackCtx, 'root' | 'registry' | 'exec' | 'change' | 'confirm' | 'writeFile' | 'log' | 'dryRun' | 'skipped' | 'rel'>, what: 'data' | 'infra'): Promise<ResetReport> {
  const instance = instanceOf(ctx.registry)
  const found = await findInstance(ctx.exec, instance)
  const db = databaseOf(instance, found)
  ctx.log.info(`project ${instance.project}: containers ${found.containers.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}; volumes ${found.volumes.join(', ') || 'none'}`)
  if (what === 'data' && !db) throw new FailureError('the Infisical database container is not running, so it can be neither backed up nor emptied', { hint: 'start it (STACKYARD_PROFILES=infisical, then up), or use --infra to remove everything' })
  if (what === 'infra' && !found.containers.length && !found.volumes.length) return { reset: what, containers: [], volumes: [], backup: null, nothing: true }
  const loss = what === 'data' ? 'every secret, user and identity in it is deleted' : `containers and volumes ${found.volumes.join(', ')} are deleted`
  await ctx.confirm(`Reset Infisical ${what}: ${loss}${db ? ' (a pg_dump backup is taken first)' : ' — the database is not running, so NO backup can be taken'}.`, { typed: `reset infisical ${what}` })
  let backup: string | null = null
  if (db) {
    const dump = await dumpDatabase(ctx.change, db)
    backup = backupName()
    if (!dump.skipped) await prepareBackupDir(ctx, join(ctx.root, BACKUP_DIR))
    await ctx.writeFile(backup, dump.sql, { mode: 0o600, secret: true })
    if (!ctx.dryRun) ctx.log.success(`backup: ${backup} (restoring it needs the same INFISICAL_ENCRYPTION_KEY)`)
  }
  const byRole = (role: string) => found.containers.filter((c) => instance.services.find((s) => s.name === c.service)?.role === role)
  if (what === 'data') {
    const backend = byRole('backend').map((c) => c.id)
    if (backend.length) await ctx.change('docker', ['stop', ...backend])
    await ctx.change('docker', ['exec', db!.container.id, 'psql', '-U', db!.user, '-d', db!.database, '-v', 'ON_ERROR_STOP=1', '-c', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'])
    for (const c of byRole('cache').filter((c) => c.state === 'running')) await ctx.change('docker', ['exec', c.id, 'redis-cli', 'FLUSHALL'])
    if (backend.length) await ctx.change('docker', ['start', ...backend])
  } else {
    if (found.containers.length) await ctx.change('docker', ['rm', '-f', '-v', ...found.containers.map((c) => c.id)])
    if (found.volumes.length) await ctx.change('docker', ['volume', 'rm', ...found.volumes])
  }
  return { reset: what, containers: found.containers.map((c) => c.name), volumes: what === 'infra' ? found.volumes : [], backup, nothing: false }
}
