// Schemas for Stackyard's metadata in compose files (`x-` extension fields) and shared value rules;
// zod only, no I/O. Compose ignores `x-` fields; Stackyard derives Caddy, tunnel ingress, DNS, Access,
// secrets and checks from them.
import { z } from 'zod'
import { patternProblem } from '../core/safe-pattern.ts'

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
export const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
export const DOMAIN = /^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/
export const DURATION = /^\d+(ms|s|m|h)$/
export const SIZE = /^\d+(B|KB|MB|GB)$/

export const HARDWARE_PROFILES = ['cpu', 'gpu-nvidia', 'gpu-amd', 'none'] as const
export type HardwareProfile = (typeof HARDWARE_PROFILES)[number]
export const ENVIRONMENTS = ['private', 'public'] as const
/** what runs the stacks: Docker Compose projects (one engine each) or Docker Swarm stacks (README "Engines") */
export const ENGINES = ['compose', 'swarm'] as const
export type Engine = (typeof ENGINES)[number]
export type Environment = (typeof ENVIRONMENTS)[number]
export const ACCESS = ['protected', 'public', 'bypass'] as const

const envName = z.string().regex(ENV_NAME, 'must be a variable name ([A-Za-z_][A-Za-z0-9_]*)')
const description = z.string().min(1, 'describe what it is for in one line')

/** Top-level `x-stackyard` of a stack's docker-compose.yml. */
export const StackMeta = z.strictObject({
  description,
  /** stacks (by name) that must be up and healthy before this one starts */
  after: z.array(z.string()).default([]),
  /** compose profiles switched on when a variable is non-empty, e.g. `tunnel: CLOUDFLARE_TUNNEL_TOKEN` */
  auto_profiles: z.record(z.string(), envName).default({}),
})
export type StackMeta = z.infer<typeof StackMeta>

/** Service-level `x-route`: how the service is reached through Caddy (and, in public, the tunnel). */
export const RouteSpec = z.strictObject({
  /** `<subdomain>.<DOMAIN>` in the public environment */
  subdomain: z.string().regex(DNS_LABEL, 'must be a lower-case DNS label (a-z, 0-9, -)'),
  /** the port the service listens on inside its container */
  port: z.number().int().min(1).max(65535),
  /** the loopback port Caddy listens on in the private environment */
  local_port: z.number().int().min(1024).max(65535),
  /** protected: behind Cloudflare Access; public: no Access app; bypass: an explicit Access bypass (warned) */
  access: z.enum(ACCESS).default('protected'),
  /** largest request body Caddy accepts, e.g. 100MB */
  body_limit: z.string().regex(SIZE, 'a size such as 10MB').default('10MB'),
  /** upstream read/write timeout, e.g. 300s */
  timeout: z.string().regex(DURATION, 'a duration such as 60s').default('60s'),
  /** the variable that receives the service's own external URL (default <SERVICE>_URL) */
  url_env: envName.optional(),
})
export type RouteSpec = z.infer<typeof RouteSpec>

/**
 * `check:` in an x-secrets entry: how `doctor --live` proves the running service still accepts the value.
 * pg-login: the role logs in over TCP inside the service's container with the password the env layers hold (and a
 * rotation changes the role's password through the running server: lib/stacks/secret-rotation.ts).
 * file-json: a JSON file in the service's container holds the value in one field (n8n keeps its encryption key in its
 * data folder); read with `cat` inside the container and compared in-process, never printed.
 * infisical-root-key: the value opens the root key Infisical keeps wrapped in its database (kms_root_config), by the
 * rule Infisical applies when it starts (lib/infisical/root-key.ts); read with psql inside the database's container.
 */
export const LiveCheck = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('pg-login'),
    /** the service of the same stack that holds the role */
    service: z.string().min(1),
    role: z.string().min(1).max(63),
    /** the database to log in to (default: the role's name) */
    database: z.string().min(1).max(63).optional(),
  }),
  z.strictObject({
    method: z.literal('file-json'),
    /** the service of the same stack whose container holds the file */
    service: z.string().min(1),
    /** absolute path of the JSON file inside the container */
    path: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, 'an absolute path inside the container (A-Z a-z 0-9 . _ - /)'),
    /** the top-level field that holds the value */
    field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a top-level JSON field name'),
  }),
  z.strictObject({
    method: z.literal('infisical-root-key'),
    /** the PostgreSQL service of the same stack that holds Infisical's database */
    service: z.string().min(1),
    /** the role psql connects as over the container's local socket */
    role: z.string().min(1).max(63),
    /** the database (default: the role's name) */
    database: z.string().min(1).max(63).optional(),
    /** how Infisical reads the key: utf8 (ENCRYPTION_KEY, the default) or base64 (ROOT_ENCRYPTION_KEY) */
    encoding: z.enum(['utf8', 'base64']).optional(),
  }),
])
export type LiveCheck = z.infer<typeof LiveCheck>
/**
 * `rotate:` in an x-secrets entry: how `secrets.ts generate --rotate KEY` may replace a value a service already uses.
 * Without it a secret with a pg-login check is changed in the database first, and any other one is written and its
 * services recreated. refuse: the value cannot be replaced in place (it encrypts stored data); says why and how.
 */
export const RotateSpec = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('refuse'),
    /** why it cannot be replaced in place, in one line */
    reason: z.string().min(1),
    /** the manual procedure, in one or two sentences */
    procedure: z.string().min(1),
  }),
])
export type RotateSpec = z.infer<typeof RotateSpec>
const base = { description, check: LiveCheck.optional(), rotate: RotateSpec.optional() }
/** One entry of a stack's top-level `x-secrets` map: how the value is made. */
export const SecretSpec = z.discriminatedUnion('format', [
  /** N random bytes as 2N lower-case hex characters */
  z.strictObject({ format: z.literal('hex'), bytes: z.number().int().min(8).max(256), ...base }),
  /** N random bytes, standard base64 with padding */
  z.strictObject({ format: z.literal('base64'), bytes: z.number().int().min(8).max(256), ...base }),
  /** N random bytes, base64url without padding */
  z.strictObject({ format: z.literal('base64url'), bytes: z.number().int().min(8).max(256), ...base }),
  /** CSPRNG password from [A-Za-z0-9] (safe in URLs and Compose files); 22+ chars = 128+ bits */
  z.strictObject({ format: z.literal('password'), length: z.number().int().min(22).max(256).default(32), ...base }),
  /** random UUID v4 */
  z.strictObject({ format: z.literal('uuid'), ...base }),
  /** HS256 JWT signed with another secret; re-signed when that secret changes */
  z.strictObject({
    format: z.literal('jwt'),
    secret: envName,
    claims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    expires_days: z.number().int().min(1).max(36500).default(1825),
    ...base,
  }),
  /** supplied by the user (tokens, credentials); never generated */
  z.strictObject({
    format: z.literal('external'),
    optional: z.boolean().default(false),
    /** a regular expression the value must match: compiles, and cannot backtrack exponentially (lib/core/safe-pattern.ts) */
    pattern: z
      .string()
      .superRefine((p, ctx) => {
        const problem = patternProblem(p)
        if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(p)} ${problem}` })
      })
      .optional(),
    ...base,
  }),
])
export type SecretSpec = z.infer<typeof SecretSpec>

/** Service-level `x-proxy: true` marks the reverse proxy (Caddy): private local ports are published on it. */
export const ProxyFlag = z.boolean()

const volumeKey = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a named volume of this service (its key under volumes:)')
const dbName = z.string().min(1).max(63)
/** Service-level `x-backup`: how `tasks/backup.ts` saves the service's state and `tasks/restore.ts` brings it back. */
export const BackupSpec = z.discriminatedUnion('method', [
  /** PostgreSQL: the roles (pg_dumpall --globals-only, without passwords) and each database (pg_dump, plain SQL) */
  z.strictObject({
    method: z.literal('pg_dump'),
    /** the superuser to connect as over the container's local socket (default: POSTGRES_USER, else postgres) */
    user: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_$-]*$/, 'a PostgreSQL role name').optional(),
    /** the databases to dump (default: every database that accepts connections, templates excluded) */
    databases: z.array(dbName).min(1).optional(),
    /** include the roles (default true) */
    globals: z.boolean().default(true),
  }),
  /** Valkey/Redis: an RDB snapshot streamed from the server (`<cli> --rdb -`), restored as the file it loads on start */
  z.strictObject({
    method: z.literal('snapshot'),
    cli: z.enum(['valkey-cli', 'redis-cli']),
    /** the named volume holding the server's data directory */
    volume: volumeKey,
    /** the RDB file name inside it (the server's dbfilename) */
    file: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a file name').default('dump.rdb'),
  }),
  /** named volumes archived with tar from a throwaway container that mounts them read-only */
  z.strictObject({
    method: z.literal('volume'),
    /** the volumes (default: every named volume the service mounts) */
    volumes: z.array(volumeKey).min(1).optional(),
  }),
  /** explicitly not backed up (a cache, re-downloadable models): say why */
  z.strictObject({ method: z.literal('none'), reason: z.string().min(1, 'say why it needs no backup') }),
])
export type BackupSpec = z.infer<typeof BackupSpec>

/**
 * Service-level `x-file-env: [VAR, …]`: environment variables the image also reads from a file named by `<VAR>_FILE`
 * (the official PostgreSQL image's POSTGRES_PASSWORD_FILE). Under the swarm engine a declared secret in such a
 * variable becomes a Docker secret mounted at /run/secrets/<KEY>; every other secret stays in the environment.
 */
export const FileEnvSpec = z.array(envName).min(1)

/** Service-level `x-socket-proxy: true`: the one kind of service allowed to mount the Docker socket (doctor). */
export const SocketProxyFlag = z.boolean()

/** The parts of a compose document Stackyard reads beside the x- fields (Compose validates the rest). */
export const ComposeDoc = z.looseObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a compose project name: lower-case letters, digits, - and _'),
  services: z.record(z.string(), z.looseObject({})).default({}),
})
export const ComposeOverrideDoc = z.looseObject({
  services: z.record(z.string(), z.looseObject({})).optional(),
})

/** Formats zod issues as `path: message` lines. */
export function formatIssues(error: z.ZodError, prefix: (string | number)[] = []): string[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...i.path].map(String).join('.')
    return `${path || '(root)'}: ${i.message}`
  })
}
