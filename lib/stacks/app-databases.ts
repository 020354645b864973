// The shared PostgreSQL's per-app databases and roles: which service runs compose/01-data/postgres/app-databases.sh
// (found from its volume mount in the compose files, not hard-coded), what exists in the running server, and the
// idempotent re-run of the script for what is missing. Commands go through the context's runners (dry-run aware);
// passwords never leave the container (the script reads them from its environment).
import { ConfigError, FailureError } from '../core/errors.ts'
import { psCommand } from '../docker/compose.ts'
import { serviceMounts } from '../model/volumes.ts'
import { parsePs } from '../docker/state.ts'
import { loadPlatform, type StackCtx } from '../docker/platform.ts'
import type { Registry, Service, Stack } from '../model/registry.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'
import type { Runner } from '../core/exec.ts'

/** The script, relative to its stack folder. */
export const APP_DATABASES_SCRIPT = 'postgres/app-databases.sh'

export interface AppDatabasesTarget {
  stack: Stack
  service: Service
  /** where the script is mounted inside the container */
  script: string
  /** the superuser the script connects as (POSTGRES_USER) */
  superuser: string
  /** APP_DATABASES as the compose file declares it */
  apps: string[]
}

function mounted(service: Service): string | undefined {
  return serviceMounts(service.raw.volumes).find((m) => m.type === 'bind' && m.source.replace(/^\.\//, '') === APP_DATABASES_SCRIPT && m.target)?.target
}

/** The service that mounts the per-app database script, and what the compose file gives it. */
export function appDatabasesTarget(registry: Registry): AppDatabasesTarget {
  for (const stack of registry.stacks)
    for (const service of stack.services) {
      const script = mounted(service)
      if (!script) continue
      const env = serviceEnvironment(service.raw.environment)
      const apps = (env.APP_DATABASES ?? '').split(/\s+/).filter(Boolean)
      if (!apps.length) throw new ConfigError(`${stack.file}: services.${service.name}.environment.APP_DATABASES lists no app`, { file: stack.file, hint: 'list the apps that get a database, e.g. APP_DATABASES: n8n openwebui' })
      return { stack, service, script, superuser: literal(env.POSTGRES_USER) ?? 'postgres', apps }
    }
  throw new ConfigError(`no service mounts ${APP_DATABASES_SCRIPT}`, { hint: 'the data stack\'s postgres service mounts it into /docker-entrypoint-initdb.d/' })
}

export interface AppDatabasesReport {
  stack: string
  service: string
  apps: string[]
  /** apps whose database or role did not exist */
  missing: string[]
  /** apps the script ran for (missing ones, or all with --passwords) */
  ran: string[]
}

/**
 * Runs the script in the running container for the apps that lack their database or role (all apps with
 * `passwords`, which re-applies each role's password from the container's environment after a rotation).
 * Nothing missing and no `passwords`: nothing runs (a second run changes nothing).
 */
export async function ensureAppDatabases(ctx: StackCtx, o: { passwords: boolean }): Promise<AppDatabasesReport> {
  const p = loadPlatform(ctx, { profiles: 'active', generating: false })
  const t = appDatabasesTarget(p.registry)
  const exec = (runner: Runner, command: string[], opts: { env?: string } = {}) => p.run(runner, t.stack, ['exec', '-T', ...(opts.env ? [`--env=${opts.env}`] : []), t.service.name, ...command])
  const up = `npx zx tasks/up.ts --stack ${t.stack.name}`

  const ps = await p.run(ctx.exec, t.stack, psCommand())
  const row = ps.exitCode === 0 ? parsePs(ps.stdout).find((r) => r.Service === t.service.name) : undefined
  if (row?.State !== 'running') throw new FailureError(`${t.stack.name}/${t.service.name} is not running`, { hint: `start it first: ${up}` })

  // the script reads the container's environment: a container older than the compose file does not know a new app
  const given = await exec(ctx.exec, ['printenv', 'APP_DATABASES'])
  const inContainer = given.stdout.split(/\s+/).filter(Boolean)
  const stale = t.apps.filter((a) => !inContainer.includes(a))
  if (stale.length)
    throw new FailureError(`the running ${t.service.name} container does not know ${stale.join(', ')} yet (it was created before ${t.stack.file} listed ${stale.length > 1 ? 'them' : 'it'})`, {
      hint: `recreate it with the new variables first (the data stays): ${up}`,
    })

  const query = "SELECT 'db ' || datname FROM pg_database UNION ALL SELECT 'role ' || rolname FROM pg_roles"
  const existing = await exec(ctx.exec, ['psql', '--no-psqlrc', '-XAtq', '--username', t.superuser, '--dbname', 'postgres', '--command', query])
  if (existing.exitCode !== 0) throw new FailureError(`cannot read the databases of ${t.service.name}: ${existing.stderr.trim().split('\n').pop() ?? ''}`, { hint: `is it healthy? npx zx tasks/status.ts` })
  const have = new Set(existing.stdout.split('\n').map((l) => l.trim()).filter(Boolean))
  const missing = t.apps.filter((a) => !have.has(`db ${a}`) || !have.has(`role ${a}`))
  const ran = o.passwords ? t.apps : missing

  if (ran.length) {
    ctx.log.step(`${t.stack.name}/${t.service.name}: ${missing.length ? `creating ${missing.join(', ')}` : 'all app databases exist'}${o.passwords ? '; re-applying every app role\'s password' : ''}`)
    const r = await exec(ctx.change, ['bash', t.script], { env: `APP_DATABASES=${ran.join(' ')}` })
    if (r.exitCode !== 0) throw new FailureError(`the per-app database script failed in ${t.service.name}:\n${(r.stderr || r.stdout).trim()}`, { hint: `its log: npx zx tasks/logs.ts --stack ${t.stack.name} ${t.service.name}` })
  }
  return { stack: t.stack.name, service: t.service.name, apps: t.apps, missing, ran }
}
