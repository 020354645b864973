// Compose invocations: the argv of `docker compose` for one stack (project, files, env files, profiles) and of its
// subcommands. Pure: no I/O; every path in the argv is absolute, so nothing depends on the cwd (see composeArgs).
import { isAbsolute } from 'node:path'
import type { Stack } from '../model/registry.ts'

/**
 * The oldest Compose we accept: `up --wait` (2.1.1), `up --wait-timeout` (2.17.0) and the long `env_file` form with
 * `required:` (2.24.0).
 */
export const MIN_COMPOSE_VERSION = '2.24.0'

export interface ComposeInvocation {
  stack: Stack
  /** compose files in merge order: base, environment override, generated overlays (absolute) */
  files: string[]
  /** --env-file layers, lowest first (absolute); later files win, as in Compose */
  envFiles: string[]
  /** --profile values, sorted */
  profiles: string[]
}

/**
 * `docker` argv up to the subcommand: `compose --project-name … --project-directory … -f … --env-file … --profile …`.
 * Every path absolute: Compose resolves a relative `-f` and `--env-file` against the current directory (compose-go
 * #145, compose #8198), while paths inside the compose files resolve against the project directory; the stack folder
 * as project directory and absolute files make both unambiguous.
 */
export function composeArgs(inv: ComposeInvocation, sub: readonly string[]): string[] {
  for (const p of [inv.stack.dir, ...inv.files, ...inv.envFiles]) if (!isAbsolute(p)) throw new Error(`compose path is not absolute: ${p}`)
  return [
    'compose',
    '--project-name',
    inv.stack.project,
    '--project-directory',
    inv.stack.dir,
    ...inv.files.flatMap((f) => ['-f', f]),
    ...inv.envFiles.flatMap((f) => ['--env-file', f]),
    ...inv.profiles.flatMap((p) => ['--profile', p]),
    ...sub,
  ]
}

export interface UpOptions {
  /** seconds `--wait` waits for running/healthy before failing */
  timeout: number
  /** only these services, without their dependencies (update --apply, rollback) */
  services?: readonly string[]
  /** recreate the listed services even when Compose sees no change (rollback to a re-tagged image) */
  forceRecreate?: boolean
}

/** `up -d --wait --wait-timeout N [--no-deps --force-recreate services…]`: returns when healthy, never sleeps. */
export function upCommand(o: UpOptions): string[] {
  const services = o.services ?? []
  return [
    'up',
    '--detach',
    '--wait',
    '--wait-timeout',
    String(o.timeout),
    ...(services.length ? ['--no-deps'] : []),
    ...(o.forceRecreate ? ['--force-recreate'] : []),
    ...services,
  ]
}

export function downCommand(o: { volumes: boolean }): string[] {
  return ['down', '--remove-orphans', ...(o.volumes ? ['--volumes'] : [])]
}

export function psCommand(): string[] {
  return ['ps', '--all', '--format', 'json']
}

export function logsCommand(o: { services?: readonly string[]; follow?: boolean; since?: string; tail?: number; timestamps?: boolean }): string[] {
  return [
    'logs',
    '--no-color',
    ...(o.follow ? ['--follow'] : []),
    ...(o.since ? ['--since', o.since] : []),
    ...(o.tail !== undefined ? ['--tail', String(o.tail)] : []),
    ...(o.timestamps ? ['--timestamps'] : []),
    ...(o.services ?? []),
  ]
}

/** `exec -T <service> <command…>`: no TTY, output captured. */
export function execCommand(service: string, command: readonly string[]): string[] {
  return ['exec', '-T', service, ...command]
}
