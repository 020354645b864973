// How each x-backup method saves and restores a service: the argv of the commands (inside the service through
// `docker compose exec -T`, or in a throwaway helper container that mounts one volume), the names of the files in
// the archive, and the SQL rewrite that makes a roles dump re-runnable. Pure: no I/O, no Docker calls.
import type { BackupSpec } from '../model/x-fields.ts'
import type { Service } from '../model/registry.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'

/**
 * The throwaway container for volume archives and snapshot restores: Debian's GNU tar keeps numeric owners and
 * modes exactly (busybox tar maps owners by name). Pinned; override with STACKYARD_BACKUP_IMAGE.
 */
export const HELPER_IMAGE = 'debian:13.4-slim'
/** the helper image this installation uses: STACKYARD_BACKUP_IMAGE, else HELPER_IMAGE */
export const helperImage = (env: { values: Record<string, string | undefined> }) => env.values.STACKYARD_BACKUP_IMAGE || HELPER_IMAGE
/** where the helper container mounts the volume */
const MOUNT = '/volume'

export type PgSpec = Extract<BackupSpec, { method: 'pg_dump' }>
export type SnapshotSpec = Extract<BackupSpec, { method: 'snapshot' }>

/** The superuser a pg_dump backup connects as: x-backup.user, else the service's literal POSTGRES_USER, else postgres. */
export function pgUser(service: Service, spec: PgSpec): string {
  return spec.user || (literal(serviceEnvironment(service.raw.environment).POSTGRES_USER) ?? 'postgres')
}

const psql = (user: string, db: string) => ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', user, '-d', db]
export const LIST_DATABASES_SQL = 'SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1'

export const pg = {
  /** databases and their owners, one `name<TAB>owner` line each */
  list: (user: string) => ['psql', '-X', '-A', '-t', '-q', '-F', '\t', '-U', user, '-d', 'postgres', '-c', LIST_DATABASES_SQL],
  /** the roles, without password hashes: passwords stay where they are declared (.env, x-secrets) */
  globals: (user: string) => ['pg_dumpall', '-U', user, '-w', '--globals-only', '--no-role-passwords'],
  /** one database as plain SQL that drops and recreates its objects */
  dump: (user: string, db: string) => ['pg_dump', '-U', user, '-w', '-d', db, '--clean', '--if-exists'],
  /**
   * the database's own definition (--create --schema-only): the only pg_dump output that holds its database-level
   * grants and settings, which neither the content dump nor pg_dumpall --globals-only carries; see databaseSettings
   */
  definition: (user: string, db: string) => ['pg_dump', '-U', user, '-w', '-d', db, '--create', '--schema-only'],
  restoreGlobals: (user: string) => psql(user, 'postgres'),
  createDatabase: (user: string, db: string, owner: string) => [...psql(user, 'postgres'), '-c', `CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(owner)}`],
  /** all or nothing per database */
  restoreDatabase: (user: string, db: string) => [...psql(user, db), '--single-transaction'],
  /** a settings file (databaseSettings), all or nothing */
  restoreSettings: (user: string) => [...psql(user, 'postgres'), '--single-transaction'],
}

/** The statements of a --create dump that belong to the database itself rather than to its content. */
const DATABASE_LEVEL = /^(ALTER DATABASE |COMMENT ON DATABASE |SECURITY LABEL (FOR \S+ )?ON DATABASE |(GRANT|REVOKE) .* ON DATABASE |ALTER ROLE .* IN DATABASE .* SET )/

/**
 * A database's own grants, settings, comment and owner, from its `pg.definition` dump, as a re-runnable SQL file:
 * the settings are reset first (so a restore over an existing database ends with exactly the backed-up ones), then
 * pg_dump's statements for them, as it wrote them. Statements that span lines (a quoted comment) are kept whole.
 */
export function databaseSettings(definition: string, db: string): string {
  const out = [`ALTER DATABASE ${quoteIdent(db)} RESET ALL;`]
  let statement: string[] | undefined
  let quotes = 0
  for (const line of definition.split('\n')) {
    if (!statement) {
      if (!DATABASE_LEVEL.test(line)) continue
      statement = []
      quotes = 0
    }
    statement.push(line)
    quotes += (line.match(/'/g) ?? []).length
    if (quotes % 2 === 0 && line.trimEnd().endsWith(';')) {
      out.push(statement.join('\n'))
      statement = undefined
    }
  }
  return out.join('\n') + '\n'
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** `name<TAB>owner` lines of pg.list */
export function parseDatabaseList(stdout: string): Array<{ name: string; owner: string }> {
  return stdout.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim()).map((l) => {
    const [name, owner = ''] = l.split('\t')
    return { name, owner }
  })
}

/**
 * pg_dumpall emits `CREATE ROLE x;` for every role, which fails for a role that exists (always true for the
 * superuser, and for app roles an init script created). Each becomes a block that tolerates exactly that error, so
 * the roles restore under ON_ERROR_STOP; the ALTER ROLE lines after it then set the attributes.
 */
export function tolerantRoles(line: string): string {
  const m = /^CREATE ROLE ((?:"(?:[^"]|"")+")|[A-Za-z_][A-Za-z0-9_$]*);$/.exec(line)
  return m ? `DO $stackyard$ BEGIN CREATE ROLE ${m[1]}; EXCEPTION WHEN duplicate_object THEN NULL; END $stackyard$;` : line
}

/**
 * A complete pg_dump/pg_dumpall output ends with this comment, which PostgreSQL 17.6 / 16.10 / 15.14 and later
 * follow with the `\unrestrict <key>` line that closes the dump's opening `\restrict`: anything else was cut short.
 */
export const PG_COMPLETE = /PostgreSQL database (cluster )?dump complete\s*(--\s*)?(\\unrestrict [A-Za-z0-9]+\s*)?$/

export const snapshot = {
  /** the server streams a consistent RDB (replication SYNC), nothing is written inside the container */
  dump: (spec: SnapshotSpec) => [spec.cli, '--rdb', '-'],
  /** an RDB file starts with this */
  magic: Buffer.from('REDIS'),
}

/**
 * A name pg_dump/psql take as a database (`-d NAME`) and this backup can have written: 1 to 63 bytes, no control
 * characters, and nothing psql would read as a connection string instead (an `=`, a postgres:// URI).
 */
export function isDatabaseName(name: string): boolean {
  const bytes = Buffer.byteLength(name)
  return bytes >= 1 && bytes <= 63 && !/[\u0000-\u001f\u007f=]/.test(name) && !/^postgres(ql)?:\/\//i.test(name)
}

/** A file name inside a volume: one path segment, as x-backup.file declares it. */
const FILE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]+$/

/**
 * The helper commands, run with `docker run --rm [-i] --network none -v VOLUME:/volume[:ro] IMAGE …`. Their scripts
 * are constants: a name reaches them only as a positional parameter (`sh -c SCRIPT sh NAME`, used as "$1"), never in
 * the script's text.
 */
export const volume = {
  runArgs: (volumeName: string, image: string, o: { readOnly: boolean; stdin: boolean; labels?: Record<string, string> }) => [
    'run', '--rm', ...(o.stdin ? ['-i'] : []), ...Object.entries(o.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--network', 'none', '-v', `${volumeName}:${MOUNT}${o.readOnly ? ':ro' : ''}`, image,
  ],
  archive: () => ['tar', '-C', MOUNT, '--numeric-owner', '-cf', '-', '.'],
  /** replaces the volume's content with the archive on stdin */
  extract: () => ['sh', '-c', `find ${MOUNT} -mindepth 1 -delete && tar -C ${MOUNT} --numeric-owner -xpf -`],
  /** the number of regular files in the volume (a restore drill's probe) */
  countFiles: () => ['sh', '-c', `find ${MOUNT} -type f | wc -l`],
  /** writes stdin as one file, owned like the folder it lands in, replaced atomically */
  putFile: (file: string) => {
    if (!FILE_NAME.test(file)) throw new Error(`not a plain file name: ${JSON.stringify(file)}`)
    return ['sh', '-c', `tmp="${MOUNT}/.$1.stackyard-restore" && cat > "$tmp" && chown --reference=${MOUNT} "$tmp" && mv -f "$tmp" "${MOUNT}/$1"`, 'sh', file]
  },
}

/** File names inside the archive: data/<stack>/<service>/… */
export const archivePath = {
  globals: (stack: string, service: string) => `data/${stack}/${service}/globals.sql`,
  database: (stack: string, service: string, db: string) => `data/${stack}/${service}/db-${encodeURIComponent(db)}.sql`,
  settings: (stack: string, service: string, db: string) => `data/${stack}/${service}/db-${encodeURIComponent(db)}.settings.sql`,
  snapshot: (stack: string, service: string, file: string) => `data/${stack}/${service}/${file}`,
  volume: (stack: string, service: string, key: string) => `data/${stack}/${service}/volume-${key}.tar`,
  secret: (name: string) => `secrets/${name}`,
}
