// Rotation in place of a secret running services use: the service first, then Infisical when it holds the key, then
// the env files, then the services recreated and the value proven; any failure undone everywhere (see rotateInPlace).
// Plans from the registry; every change goes through the context (dry-run aware); values only on stdin, never printed.
// Compose by default; the swarm engine brings its own reach (lib/swarm/rotation.ts: task containers, a redeploy).
import { readFileSync, statSync } from 'node:fs'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import { checkDocker } from '../docker/preflight.ts'
import type { Registry } from '../model/registry.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'
import { upCommand } from '../docker/compose.ts'
import { CancelledError, ConfigError, FailureError, UsageError } from '../core/errors.ts'
import { hasCheck, liveSecrets } from './live-secrets.ts'
import { composeAccess, type ServiceAccess } from './access.ts'
import { stackRows } from './status.ts'
import { isServing } from '../docker/state.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'
import { registerSecrets } from '../core/redact.ts'
import { SECRET_LAYER_FILE } from '../env/layers.ts'
import { plural } from '../core/format.ts'
import { sessionFrom } from '../infisical/tasks.ts'
import type { Session } from '../infisical/sync.ts'
import { looksLikeReference } from '../infisical/plan.ts'

export const ENV_FILE = '.env'
/** seconds the services get to come back healthy when a failed rotation is undone */
const ROLLBACK_TIMEOUT = 180

/**
 * A constant script: the new password is the first line of stdin (then in psql's own environment, read by \getenv);
 * the superuser and the role are arguments ($1, $2). It connects over the container's local socket as the superuser;
 * :'pw' and :"role" make psql quote the literal and the name; the statement is kept out of the server log.
 */
const PG_ALTER = `IFS= read -r PW && export PW && exec psql -X -w -q -v ON_ERROR_STOP=1 -U "$1" -d postgres -v role="$2" <<'SQL'
SET log_statement = 'none';
SET log_min_error_statement = panic;
\\getenv pw PW
ALTER ROLE :"role" PASSWORD :'pw';
SQL`

/** How a rotation reaches the running services of one engine. */
export interface RotationReach {
  /** which services run and a command in one's container, as the platform `p` is now (asked afresh after a recreate) */
  access(p: Platform): ServiceAccess
  /** brings a stack's services that use a changed value back with the env files as they are now, healthy within `timeout` s */
  recreate(p: Platform, r: { stack: string; services: string[] }, timeout: number): Promise<void>
}

/** Compose: `compose ps` / `compose exec -T`, and `compose up --wait` of the services that use the value. */
export function composeRotationReach(ctx: RotationCtx): RotationReach {
  return {
    access: (p) => composeAccess(ctx, p),
    async recreate(p, r, timeout) {
      const deadline = Date.now() + timeout * 1000
      const stack = p.registry.stack(r.stack)
      const late = (why: string) => new FailureError(`${r.stack}/{${r.services.join(',')}} did not come back healthy within ${timeout}s: ${why}`)
      // recreated whatever Compose's config hash says: the rotation is what these containers must start with
      const res = await p.run(ctx.change, stack, upCommand({ timeout, services: r.services, forceRecreate: true }))
      if (res.exitCode !== 0) throw late((res.stderr || res.stdout).trim().split('\n').slice(-2).join(' '))
      if (ctx.dryRun) return
      // and healthy now: Compose's --wait can read the container being replaced (seen on the real engine as an instant success)
      for (;;) {
        const waiting = (await stackRows(ctx, p, stack)).filter((x) => r.services.includes(x.Service) && !isServing(x))
        if (!waiting.length) return
        if (ctx.signal.aborted) throw new CancelledError('Ctrl-C')
        if (Date.now() > deadline) throw late(waiting.map((x) => `${x.Service} ${x.Health || x.State}`).join(', '))
        await sleep(1000)
      }
    },
  }
}

export interface Consumer {
  stack: string
  service: string
}

/** The services whose compose files use ${KEY} (any field: environment, a URL, a command), by stack. */
export function consumers(registry: Pick<Registry, 'stacks' | 'variables'>, key: string): Consumer[] {
  const out: Consumer[] = []
  for (const stack of registry.stacks) {
    const files = new Set([stack.file, ...Object.values(stack.overrides)])
    for (const v of registry.variables) {
      const m = /^services\.([^.]+)\./.exec(v.path)
      if (v.name !== key || !files.has(v.file) || !m) continue
      if (!out.some((c) => c.stack === stack.name && c.service === m[1])) out.push({ stack: stack.name, service: m[1] })
    }
  }
  return out
}

export interface RoleChange {
  key: string
  stack: string
  service: string
  role: string
  /** the superuser it connects as over the local socket */
  admin: string
}

export interface RotationPlan {
  /** every key whose value changes (those asked for, and what derives from them) */
  keys: string[]
  /** some running service uses one of them: the rotation is done in place */
  inPlace: boolean
  /** (a) roles whose password changes in the running server first */
  roles: RoleChange[]
  /** (b) keys Infisical supplies (their layer is .env.infisical): changed in Infisical, then in its export */
  infisical: string[]
  /** (c) the env files written, with the keys each one gets */
  files: Array<{ file: string; keys: string[] }>
  /** (d) the running services that use a changed key, recreated per stack in stack order */
  recreate: Array<{ stack: string; services: string[] }>
  /** (e) keys the live check proves afterwards */
  verify: string[]
  /** said before anything happens */
  warnings: string[]
}

/**
 * What a rotation does, from the keys that change and the services that run. A key Infisical supplies is changed in
 * Infisical and in its export (.env.infisical), and in .env too when .env also holds it (so a later push or pull sees
 * both sides agree). Refuses (UsageError) a key the calling shell sets: no file would change what the services get.
 */
export async function planRotation(access: Pick<ServiceAccess, 'running'>, p: Platform, changes: Record<string, string>): Promise<RotationPlan> {
  const keys = Object.keys(changes)
  const running = (stack: string) => access.running(stack)
  const roles: RoleChange[] = []
  const recreate = new Map<string, Set<string>>()
  const verify: string[] = []
  const warnings: string[] = []
  const infisical: string[] = []
  const files = new Map<string, string[]>()
  for (const key of keys) {
    const src = p.compose.layers.sources[key]
    if (src && src.kind === 'shell') throw new UsageError(`--rotate: ${key} is set in the calling shell, which wins over ${ENV_FILE}: a new value in ${ENV_FILE} would not reach the services`, { hint: `unset ${key} in the shell (or change it where it is set)` })
    const fromInfisical = src?.file === SECRET_LAYER_FILE
    if (fromInfisical) infisical.push(key)
    for (const f of fromInfisical ? [SECRET_LAYER_FILE, ...((p.compose.layers.history[key] ?? []).some((h) => h.file === ENV_FILE) ? [ENV_FILE] : [])] : [ENV_FILE]) {
      if (!files.has(f)) files.set(f, [])
      files.get(f)!.push(key)
    }
    const used = consumers(p.registry, key)
    const live = []
    for (const c of used) if ((await running(c.stack)).has(c.service)) live.push(c)
    for (const c of live) {
      if (!recreate.has(c.stack)) recreate.set(c.stack, new Set())
      recreate.get(c.stack)!.add(c.service)
    }
    const d = p.registry.secrets.get(key)
    const check = d && hasCheck(d) ? d.spec.check : undefined
    if (check?.method === 'pg-login') {
      const holderRuns = (await running(d!.stack)).has(check.service)
      if (holderRuns && p.compose.layers.lookup(key)) {
        const svc = p.registry.stack(d!.stack).services.find((s) => s.name === check.service)
        const admin = literal(serviceEnvironment(svc?.raw.environment).POSTGRES_USER) ?? 'postgres'
        roles.push({ key, stack: d!.stack, service: check.service, role: check.role, admin })
      } else if (live.length)
        throw new FailureError(`--rotate ${key}: ${live.map((c) => `${c.stack}/${c.service}`).join(', ')} use${live.length === 1 ? 's' : ''} it, but ${d!.stack}/${check.service}, which holds role ${check.role}, is not running: the password cannot be changed in the database`, { hint: `start it first: npx zx tasks/up.ts --stack ${d!.stack}` })
      else warnings.push(`${d!.stack}/${check.service} is not running: only ${ENV_FILE} changes; if its database already exists it keeps the old password of role ${check.role} (npx zx tasks/doctor.ts --live tells, once it runs)`)
    }
    if (check && (live.length || roles.some((r) => r.key === key))) verify.push(key)
  }
  const order = p.registry.stacks.map((s) => s.name)
  return {
    keys,
    inPlace: roles.length > 0 || recreate.size > 0 || infisical.length > 0,
    roles,
    infisical,
    files: [...files].sort(([a], [b]) => (a === ENV_FILE ? -1 : b === ENV_FILE ? 1 : 0)).map(([file, k]) => ({ file, keys: k })),
    recreate: [...recreate].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([stack, s]) => ({ stack, services: [...s] })),
    verify,
    warnings,
  }
}

/** The plan as lines for the user (no values). */
export function renderRotationPlan(plan: RotationPlan): string[] {
  if (!plan.inPlace) return [`no running service uses ${plan.keys.join(', ')}: only ${plan.files.map((f) => f.file).join(', ')} changes`]
  const roles = plan.roles.map((r) => `ALTER ROLE ${r.role} PASSWORD … in ${r.stack}/${r.service} (as ${r.admin}; the password on stdin) for ${r.key}`)
  const steps = [
    roles.length ? roles.join('; ') : 'no database role to change',
    ...(plan.infisical.length ? [`change ${plan.infisical.join(', ')} in Infisical (one PATCH per key; the previous value kept for the undo)`] : []),
    ...plan.files.map((f) => `write ${f.file}: ${f.keys.join(', ')} (atomic; the previous file in ${f.file}.bak)`),
    plan.recreate.length ? `recreate ${plan.recreate.map((r) => `${r.stack}/${r.services.join(',')}`).join(' then ')} and wait until healthy` : 'no running service to recreate',
    plan.verify.length ? `prove ${plan.verify.join(', ')} with the live check (as doctor --live)` : 'no live check is declared: healthy services are the proof',
  ]
  return [...steps.map((x, i) => `${i + 1}. ${x}`), `on any failure after step 1: the old value goes back into the database${plan.infisical.length ? ', Infisical' : ''} and the files, and the services are recreated with it (exit 1)`]
}

/** what a rotation uses of the task context */
export type RotationCtx = StackCtx & Pick<TaskContext<FlagDecls>, 'editEnv' | 'signal' | 'undoable'>

export interface RotationOutcome {
  done: string[]
}

/** Infisical's side of a rotation: the session, and the raw values Infisical holds now (what the undo puts back). */
export interface InfisicalSide {
  session: Session
  old: Record<string, string>
}

/**
 * Reads what Infisical holds for the keys it supplies, before anything changes: each must be there as a plain value (a
 * `${…}` reference is refused: rotate the secret it points to). Infisical unreachable: FailureError, nothing changed.
 */
export async function readInfisicalSide(ctx: StackCtx, keys: readonly string[]): Promise<InfisicalSide> {
  const session = sessionFrom(ctx)
  const remote = new Map((await session.client.listSecrets(session.scope)).map((r) => [r.key, r.value]))
  const old: Record<string, string> = {}
  const where = `${session.scope.environment}${session.scope.secretPath === '/' ? '' : session.scope.secretPath}`
  for (const key of keys) {
    const value = remote.get(key)
    if (value === undefined)
      throw new FailureError(`--rotate ${key}: ${SECRET_LAYER_FILE} holds it, but Infisical (${where}) no longer does: the export is out of date`, { hint: 'npx zx tasks/00-infrastructure/infisical/export.ts refreshes it; then rotate again' })
    if (looksLikeReference(value))
      throw new UsageError(`--rotate ${key}: in Infisical (${where}) it is a reference to another secret (\${…}), not a value of its own`, { hint: 'rotate the secret it refers to, in Infisical' })
    old[key] = value
  }
  registerSecrets(Object.values(old))
  return { session, old }
}

/**
 * Carries out an in-place plan: (a) ALTER ROLE in the running server, (b) the keys Infisical supplies changed there,
 * (c) the env files (atomic, backup), (d) the running services that use a changed key recreated and waited for, (e) the
 * live check. On a failure after (a): the files back byte for byte, Infisical's old values back, the services recreated
 * with the old value, the old password back, the old value proven; then FailureError saying what was undone. Ctrl-C
 * is such a failure (the step running stops, everything is undone the same way; CancelledError, exit 130). `changes`
 * are the new values, `old` those before (the env layers'); neither is printed.
 */
export function rotateInPlace(ctx: RotationCtx, load: () => Platform, plan: RotationPlan, changes: Record<string, string>, old: Record<string, string | undefined>, o: { timeout: number; infisical?: InfisicalSide; reach?: RotationReach }): Promise<RotationOutcome> {
  return ctx.undoable(() => rotate(ctx, load, plan, changes, old, { ...o, reach: o.reach ?? composeRotationReach(ctx) }))
}

async function rotate(ctx: RotationCtx, load: () => Platform, plan: RotationPlan, changes: Record<string, string>, old: Record<string, string | undefined>, o: { timeout: number; infisical?: InfisicalSide; reach: RotationReach }): Promise<RotationOutcome> {
  registerSecrets(Object.values(changes))
  const p = load()
  const before = plan.files.map((f) => {
    const path = join(ctx.root, f.file)
    return { file: f.file, text: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 }
  })
  const altered: RoleChange[] = []
  const pushed: string[] = []
  const wrote: typeof before = []
  const done: string[] = []
  let step = ''
  /** the next step; after Ctrl-C none starts: the undo below runs instead */
  const at = (what: string) => {
    if (ctx.signal.aborted) throw new CancelledError('Ctrl-C')
    step = what
  }
  try {
    at('changing the password in the database')
    for (const r of plan.roles) {
      await alterRole(ctx, o.reach.access(p), p, r, changes[r.key])
      altered.push(r)
      done.push(`role ${r.role} in ${r.stack}/${r.service}: new password`)
    }
    for (const key of plan.infisical) {
      at(`changing ${key} in Infisical`)
      await writeInfisical(o.infisical, key, changes[key])
      pushed.push(key)
    }
    if (pushed.length) done.push(`Infisical: ${pushed.join(', ')} replaced`)
    for (const f of before) {
      const keys = plan.files.find((x) => x.file === f.file)!.keys
      at(`writing ${f.file}`)
      await ctx.editEnv(f.file, Object.fromEntries(keys.map((k) => [k, changes[k]])), { mode: 0o600 })
      wrote.push(f)
      done.push(`${f.file}: ${plural(keys.length, 'key')} replaced (backup in ${f.file}.bak)`)
    }
    const after = load()
    for (const r of plan.recreate) {
      at(`recreating ${r.stack}/{${r.services.join(',')}}`)
      await o.reach.recreate(after, r, o.timeout)
      done.push(`${r.stack}: ${r.services.join(', ')} recreated, healthy`)
    }
    at('proving the new value with the live check')
    if (plan.verify.length && !ctx.dryRun) {
      const proof = await liveSecrets(ctx, after, { keys: plan.verify, access: o.reach.access(after) })
      if (proof.status === 'fail') throw new FailureError(proof.findings.map((f) => f.message).join('; '))
      done.push(`live check: ${proof.summary}`)
    } else if (plan.verify.length) ctx.skipped(`prove ${plan.verify.join(', ')} with the live check`)
    return { done }
  } catch (err) {
    const why = (err as Error).message
    const undone: string[] = []
    const failed: string[] = []
    for (const f of wrote) {
      try {
        await ctx.writeFile(f.file, f.text, { mode: f.mode, secret: true })
        undone.push(`${f.file} restored`)
      } catch (e) {
        failed.push(`${f.file} not restored (${(e as Error).message}): copy ${f.file}.bak over it`)
      }
    }
    for (const key of pushed) {
      try {
        await writeInfisical(o.infisical, key, o.infisical!.old[key])
        undone.push(`${key} has its old value in Infisical again`)
      } catch (e) {
        failed.push(`${key} keeps the NEW value in Infisical (${(e as Error).message}): set it back there by hand (the old one is in ${SECRET_LAYER_FILE})`)
      }
    }
    const restored = load()
    if (wrote.length)
      for (const r of plan.recreate) {
        try {
          await o.reach.recreate(restored, r, Math.max(o.timeout, ROLLBACK_TIMEOUT))
          undone.push(`${r.stack}/{${r.services.join(',')}} recreated with the old value`)
        } catch (e) {
          failed.push(`${r.stack}: ${(e as Error).message}`)
        }
      }
    for (const r of altered.reverse()) {
      try {
        await alterRole(ctx, o.reach.access(restored), restored, r, old[r.key] ?? '')
        undone.push(`role ${r.role} in ${r.stack}/${r.service} has its old password again`)
      } catch (e) {
        failed.push(`role ${r.role} in ${r.stack}/${r.service} keeps the NEW password (${(e as Error).message}): set it back by hand from ${plan.files.map((f) => f.file).join(' or ')}`)
      }
    }
    if (plan.verify.length && !failed.length) {
      const proof = await liveSecrets(ctx, restored, { keys: plan.verify, access: o.reach.access(restored) }).catch((e: Error) => ({ status: 'fail' as const, summary: e.message, findings: [] }))
      if (proof.status === 'fail') failed.push(`the live check does not accept the old values either: ${proof.summary}`)
      else undone.push(`live check: ${proof.summary}`)
    }
    const Failure = ctx.signal.aborted ? CancelledError : FailureError
    throw new Failure(
      `rotation of ${plan.keys.join(', ')} ${ctx.signal.aborted ? 'cancelled (Ctrl-C)' : 'failed'} while ${step}: ${ctx.signal.aborted ? 'stopped there' : why}\n${failed.length ? 'rolled back only partly' : 'rolled back'}: ${[...undone, ...failed].join('; ') || 'nothing had changed'}`,
      { hint: failed.length ? `the old values are in ${plan.files.map((f) => `${f.file}.bak`).join(' and ')}; check with npx zx tasks/doctor.ts --live` : ctx.signal.aborted ? 'nothing changed; run the rotation again when it may finish' : 'nothing changed; fix the cause and run the rotation again (npx zx tasks/health.ts shows the services)' },
    )
  }
}

/** One key's value in Infisical (PATCH, through the dry-run hook); a write an approval policy holds is a failure. */
async function writeInfisical(side: InfisicalSide | undefined, key: string, value: string): Promise<void> {
  if (!side) throw new FailureError(`no Infisical session to change ${key} with`)
  const r = await side.session.client.writeOne('PATCH', side.session.scope, key, value)
  if (r.pending) throw new FailureError(`Infisical holds the change of ${key} for approval (a change policy on this environment): it is not made`, { hint: 'reject the pending change request in Infisical, or rotate in an environment without an approval policy' })
}

async function alterRole(ctx: StackCtx, access: ServiceAccess, p: Platform, r: RoleChange, password: string): Promise<void> {
  if (!password) throw new FailureError(`no password for role ${r.role}`)
  if (ctx.dryRun) return ctx.skipped(`ALTER ROLE ${r.role} PASSWORD … in ${r.stack}/${r.service} (as ${r.admin}; the password on stdin)`)
  const res = await access.exec(p.registry.stack(r.stack), r.service, ['sh', '-c', PG_ALTER, 'sh', r.admin, r.role], { stdin: Readable.from([`${password}\n`]) })
  if (res.exitCode !== 0) throw new FailureError(`ALTER ROLE ${r.role} in ${r.stack}/${r.service} failed: ${res.stderr.trim().split('\n').pop() ?? `exit ${res.exitCode}`}`)
}

export interface PreparedRotation {
  plan: RotationPlan
  /** carries the plan out (in place) */
  apply(o: { timeout: number }): Promise<RotationOutcome>
}

/** Asks Docker what runs and plans the rotation of `changes` (the new values secrets generate would write). */
export async function prepareRotation(ctx: RotationCtx, changes: Record<string, string>, reach: RotationReach = composeRotationReach(ctx)): Promise<PreparedRotation> {
  try {
    await checkDocker(ctx)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(`--rotate ${Object.keys(changes).join(', ')}: Docker must answer to tell whether a running service uses it: ${err.message}`, { hint: err.hint })
  }
  const load = () => loadPlatform(ctx, { profiles: 'declared', generating: false })
  const p = load()
  const plan = await planRotation(reach.access(p), p, changes)
  const infisical = plan.infisical.length ? await readInfisicalSide(ctx, plan.infisical) : undefined
  const old = Object.fromEntries(plan.keys.map((k) => [k, p.compose.layers.lookup(k)]))
  return { plan, apply: (o) => rotateInPlace(ctx, load, plan, changes, old, { ...o, infisical, reach }) }
}
