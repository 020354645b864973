// Reset of the bundled Infisical: its services come from the registry (the `infisical` profile), their containers
// and volumes from Docker's compose labels (never guessed names); the database is dumped with pg_dump before anything
// is removed or emptied. Commands go through the runners handed in (reads: exec; changes: change, dry-run aware).
import { FailureError } from './errors.ts'
import { BACKUP_DIR } from './backup-dir.ts'
import type { Runner } from './exec.ts'
import type { Registry } from './registry.ts'
import { INSTANCE_PROFILE } from './infisical-config.ts'
import { literal, serviceEnvironment } from './service-env.ts'

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
