// Restore drill planning, pure: the throwaway names (compose projects stackyard-verify-<pid>-<hex>-<stack>, which a
// later drill recognises and sweeps once <pid> is gone), the compose file a stack's drill runs with (only the restored
// services, no published ports, no fixed names, its own volumes and network), and what the archive says each probe
// must find of a dump (its tables, its completeness); an RDB snapshot's is lib/rdb.ts. No I/O, no Docker calls.
import { PG_COMPLETE } from './methods.ts'
import type { Service, Stack } from '../model/registry.ts'

/** Every drill's compose projects start with this (and so its containers, volumes and network names). */
export const DRILL_PREFIX = 'stackyard-verify-'
/** a label on every container, volume and network of a drill: its id */
export const DRILL_LABEL = 'io.stackyard.verify'

const DRILL = /^stackyard-verify-(\d+)-([0-9a-f]{6})(?:-|$)/

/** A drill's id: the pid of the process that runs it (so a later drill can tell it is gone) and 6 random hex digits. */
export function drillId(pid: number, hex: string): string {
  if (!/^[0-9a-f]{6}$/.test(hex)) throw new Error(`drillId: not 6 hex digits: ${hex}`)
  return `${pid}-${hex}`
}

/** The compose project of one stack's part of a drill: never one of the platform's (those are its stacks' `name:`). */
export function drillProject(id: string, stack: Pick<Stack, 'name'>): string {
  return `${DRILL_PREFIX}${id}-${stack.name.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`
}

/** The drill a compose project (or a name starting with one) belongs to, if it is a drill's. */
export function drillOf(project: string): { id: string; pid: number } | undefined {
  const m = DRILL.exec(project)
  return m ? { id: `${m[1]}-${m[2]}`, pid: Number(m[1]) } : undefined
}

/** Service keys a drill drops: what publishes, names or links outside the throwaway project, or restarts it later. */
const DROPPED_KEYS = ['ports', 'container_name', 'profiles', 'depends_on', 'networks', 'network_mode', 'links', 'external_links', 'extends', 'hostname', 'domainname', 'mac_address', 'ipc', 'pid']

export interface DrillCompose {
  /** the compose document (YAML-serialisable); `${VAR}` references are kept for Compose to interpolate from the env layers */
  doc: Record<string, unknown>
  /** what was left out of a service's definition, for the report: `service: bind mount ./x (read-write)` */
  dropped: string[]
}

type Mount = string | { type?: string; source?: string; target?: string; read_only?: boolean; [k: string]: unknown }

/** A named volume's key, when a mount's source is one (not a path, not a variable). */
function namedKey(source: string | undefined): string | undefined {
  return source && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source) ? source : undefined
}

/**
 * The compose file of one stack's drill: the given services as the stack's base file declares them (image,
 * environment, command, health check, read-only bind mounts such as init scripts), minus everything that reaches
 * outside the project: published ports, fixed container names, networks (each drill stack has its own default
 * network), dependencies, restart policies; bind mounts that could write into this checkout are left out. Named
 * volumes become the project's own (fresh, labelled). Relative paths resolve against the stack's folder
 * (--project-directory), as they do for the platform.
 */
export function drillCompose(stack: Stack, services: readonly string[], project: string, id: string, top: { secrets?: unknown; configs?: unknown } = {}): DrillCompose {
  const labels = { [DRILL_LABEL]: id }
  const out: Record<string, unknown> = {}
  const volumes: Record<string, unknown> = {}
  const dropped: string[] = []
  for (const name of services) {
    const service: Service | undefined = stack.services.find((s) => s.name === name)
    if (!service) throw new Error(`drillCompose: ${stack.name} has no service ${name}`)
    const def: Record<string, unknown> = structuredClone(service.raw) as Record<string, unknown>
    for (const k of DROPPED_KEYS) delete def[k]
    for (const k of Object.keys(def)) if (k.startsWith('x-')) delete def[k]
    def.restart = 'no'
    const own = Array.isArray(def.labels) ? Object.fromEntries((def.labels as string[]).map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')])) : ((def.labels as Record<string, string> | undefined) ?? {})
    def.labels = { ...own, ...labels }
    const mounts: Mount[] = []
    for (const m of (def.volumes as Mount[] | undefined) ?? []) {
      if (typeof m === 'string') {
        const parts = m.split(':')
        if (parts.length === 1) {
          mounts.push(m) // anonymous: the project's own
          continue
        }
        const key = namedKey(parts[0])
        if (key) {
          volumes[key] = { labels }
          mounts.push(m)
        } else if ((parts[2] ?? '').split(',').includes('ro')) mounts.push(m)
        else dropped.push(`${name}: bind mount ${parts[0]} (read-write)`)
        continue
      }
      const type = m.type ?? 'volume'
      if (type === 'volume' && namedKey(m.source)) {
        volumes[m.source!] = { labels }
        mounts.push(m)
      } else if (type === 'bind' && !m.read_only) dropped.push(`${name}: bind mount ${m.source ?? '?'} (read-write)`)
      else mounts.push(m)
    }
    if (def.volumes !== undefined) def.volumes = mounts
    out[name] = def
  }
  const doc: Record<string, unknown> = { name: project, services: out, networks: { default: { labels } } }
  if (Object.keys(volumes).length) doc.volumes = volumes
  if (top.secrets) doc.secrets = top.secrets
  if (top.configs) doc.configs = top.configs
  return { doc, dropped }
}

/**
 * The tables a plain pg_dump creates (CREATE [UNLOGGED] TABLE at the start of a line, outside COPY data): what the
 * restored database must hold. Foreign tables are not counted (no data to check).
 */
export function declaredTables(sql: string): number {
  const c = tableCounter()
  for (const line of sql.split('\n')) c.line(line)
  return c.count()
}

/** declaredTables, a line at a time (a dump streams). */
export function tableCounter(): { line(l: string): void; count(): number } {
  let n = 0
  let copying = false
  return {
    line(raw) {
      const line = raw.replace(/\r$/, '')
      if (copying) {
        if (line === '\\.') copying = false
        return
      }
      if (/^COPY .* FROM stdin;\s*$/.test(line)) copying = true
      else if (/^CREATE (UNLOGGED )?TABLE /.test(line)) n++
    },
    count: () => n,
  }
}

/** The dump ends as a complete pg_dump output does (lib/backup/methods.ts PG_COMPLETE): given its last bytes. */
export function dumpComplete(tail: string): boolean {
  return PG_COMPLETE.test(tail)
}

/** The user tables of the current database: what declaredTables counts (extension-owned tables left out). */
export const COUNT_TABLES_SQL =
  "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
