// Rotation in place of a secret running services use: the service first, then .env, then the services recreated and
// the value proven; any failure undone everywhere (see rotateInPlace). Plans from the registry; every change goes
// through the context (dry-run aware); values only on stdin, never printed.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import { checkDocker } from '../docker/preflight.ts'
import type { Registry } from '../model/registry.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'
import { execCommand, upCommand } from '../docker/compose.ts'
import { ConfigError, FailureError, UsageError } from '../core/errors.ts'
import { hasCheck, liveSecrets, runningServices } from './live-secrets.ts'
import { literal, serviceEnvironment } from '../model/service-env.ts'
import { registerSecrets } from '../core/redact.ts'
import { SECRET_LAYER_FILE } from '../env/layers.ts'
import { plural } from '../core/format.ts'

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
  /** (b) the env file written */
  file: string
  /** (c) the running services that use a changed key, recreated per stack in stack order */
  recreate: Array<{ stack: string; services: string[] }>
  /** (d) keys the live check proves afterwards */
  verify: string[]
  /** said before anything happens */
  warnings: string[]
}

/**
 * What a rotation does, from the keys that change and the services that run. Refuses (UsageError) a key another
 * layer than .env sets (the shell, .env.infisical): writing .env would not change what the services get.
 */
export async function planRotation(ctx: Pick<StackCtx, 'exec'>, p: Platform, changes: Record<string, string>): Promise<RotationPlan> {
  const keys = Object.keys(changes)
  const running = runningServices(ctx, p)
  const roles: RoleChange[] = []
  const recreate = new Map<string, Set<string>>()
  const verify: string[] = []
  const warnings: string[] = []
  for (const key of keys) {
    const src = p.compose.layers.sources[key]
    if (src && src.kind === 'shell') throw new UsageError(`--rotate: ${key} is set in the calling shell, which wins over ${ENV_FILE}: a new value in ${ENV_FILE} would not reach the services`, { hint: `unset ${key} in the shell (or change it where it is set)` })
    if (src?.file === SECRET_LAYER_FILE)
      throw new UsageError(`--rotate: ${key} comes from Infisical (${SECRET_LAYER_FILE}): rotating it here would change ${ENV_FILE} only, and pushing to Infisical is not part of a rotation yet`, {
        hint: `change it in Infisical${p.registry.secrets.get(key)?.spec.check?.method === 'pg-login' ? ' and in the database (ALTER ROLE … PASSWORD, through npx zx tasks/compose.ts <stack> -- exec <service> psql)' : ''}, then npx zx tasks/up.ts (it exports the new value and recreates what uses it); npx zx tasks/doctor.ts --live checks the result`,
      })
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
    inPlace: roles.length > 0 || recreate.size > 0,
    roles,
    file: ENV_FILE,
    recreate: [...recreate].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([stack, s]) => ({ stack, services: [...s] })),
    verify,
    warnings,
  }
}

/** The plan as lines for the user (no values). */
export function renderRotationPlan(plan: RotationPlan): string[] {
  if (!plan.inPlace) return [`no running service uses ${plan.keys.join(', ')}: only ${plan.file} changes`]
  const roles = plan.roles.map((r) => `ALTER ROLE ${r.role} PASSWORD … in ${r.stack}/${r.service} (as ${r.admin}; the password on stdin) for ${r.key}`)
  const steps = [
    roles.length ? roles.join('; ') : 'no database role to change',
    `write ${plan.file}: ${plan.keys.join(', ')} (atomic; the previous file in ${plan.file}.bak)`,
    plan.recreate.length ? `recreate ${plan.recreate.map((r) => `${r.stack}/${r.services.join(',')}`).join(' then ')} and wait until healthy` : 'no running service to recreate',
    plan.verify.length ? `prove ${plan.verify.join(', ')} with the live check (as doctor --live)` : 'no live check is declared: healthy services are the proof',
  ]
  return [...steps.map((x, i) => `${i + 1}. ${x}`), 'on any failure after step 1: the old value goes back into the database and the file, and the services are recreated with it (exit 1)']
}

/** what a rotation uses of the task context */
export type RotationCtx = StackCtx & Pick<TaskContext<FlagDecls>, 'editEnv'>

export interface RotationOutcome {
  done: string[]
}

/**
 * Carries out an in-place plan: (a) ALTER ROLE in the running server, (b) .env (atomic, backup), (c) the running
 * services that use a changed key recreated and waited for, (d) the live check. On a failure after (a): .env back byte
 * for byte, the services recreated with the old value, the old password back, the old value proven; then FailureError
 * saying what was undone. `changes` are the new values, `old` those before (the env layers'); neither is printed.
 */
export async function rotateInPlace(ctx: RotationCtx, load: () => Platform, plan: RotationPlan, changes: Record<string, string>, old: Record<string, string | undefined>, o: { timeout: number }): Promise<RotationOutcome> {
  registerSecrets(Object.values(changes))
  const p = load()
  const envPath = join(ctx.root, plan.file)
  const before = readFileSync(envPath, 'utf8')
  const mode = statSync(envPath).mode & 0o777
  const altered: RoleChange[] = []
  let wrote = false
  const done: string[] = []
  let step = ''
  try {
    step = 'changing the password in the database'
    for (const r of plan.roles) {
      await alterRole(ctx, p, r, changes[r.key])
      altered.push(r)
      done.push(`role ${r.role} in ${r.stack}/${r.service}: new password`)
    }
    step = `writing ${plan.file}`
    await ctx.editEnv(plan.file, changes, { mode: 0o600 })
    wrote = true
    done.push(`${plan.file}: ${plural(plan.keys.length, 'key')} replaced (backup in ${plan.file}.bak)`)
    const after = load()
    for (const r of plan.recreate) {
      step = `recreating ${r.stack}/{${r.services.join(',')}}`
      await recreate(ctx, after, r, o.timeout)
      done.push(`${r.stack}: ${r.services.join(', ')} recreated, healthy`)
    }
    step = 'proving the new value with the live check'
    if (plan.verify.length && !ctx.dryRun) {
      const proof = await liveSecrets(ctx, after, { keys: plan.verify })
      if (proof.status === 'fail') throw new FailureError(proof.findings.map((f) => f.message).join('; '))
      done.push(`live check: ${proof.summary}`)
    } else if (plan.verify.length) ctx.skipped(`prove ${plan.verify.join(', ')} with the live check`)
    return { done }
  } catch (err) {
    const why = (err as Error).message
    const undone: string[] = []
    const failed: string[] = []
    if (wrote) {
      try {
        await ctx.writeFile(plan.file, before, { mode, secret: true })
        undone.push(`${plan.file} restored`)
      } catch (e) {
        failed.push(`${plan.file} not restored (${(e as Error).message}): copy ${plan.file}.bak over it`)
      }
    }
    const restored = load()
    if (wrote)
      for (const r of plan.recreate) {
        try {
          await recreate(ctx, restored, r, Math.max(o.timeout, ROLLBACK_TIMEOUT))
          undone.push(`${r.stack}/{${r.services.join(',')}} recreated with the old value`)
        } catch (e) {
          failed.push(`${r.stack}: ${(e as Error).message}`)
        }
      }
    for (const r of altered.reverse()) {
      try {
        await alterRole(ctx, restored, r, old[r.key] ?? '')
        undone.push(`role ${r.role} in ${r.stack}/${r.service} has its old password again`)
      } catch (e) {
        failed.push(`role ${r.role} in ${r.stack}/${r.service} keeps the NEW password (${(e as Error).message}): set it back by hand from ${plan.file}`)
      }
    }
    if (plan.verify.length && !failed.length) {
      const proof = await liveSecrets(ctx, restored, { keys: plan.verify }).catch((e: Error) => ({ status: 'fail' as const, summary: e.message, findings: [] }))
      if (proof.status === 'fail') failed.push(`the live check does not accept the old values either: ${proof.summary}`)
      else undone.push(`live check: ${proof.summary}`)
    }
    throw new FailureError(
      `rotation of ${plan.keys.join(', ')} failed while ${step}: ${why}\n${failed.length ? 'rolled back only partly' : 'rolled back'}: ${[...undone, ...failed].join('; ') || 'nothing had changed'}`,
      { hint: failed.length ? `the old values are in ${plan.file}.bak; check with npx zx tasks/doctor.ts --live` : 'nothing changed; fix the cause and run the rotation again (npx zx tasks/health.ts shows the services)' },
    )
  }
}

async function alterRole(ctx: StackCtx, p: Platform, r: RoleChange, password: string): Promise<void> {
  if (!password) throw new FailureError(`no password for role ${r.role}`)
  if (ctx.dryRun) return ctx.skipped(`ALTER ROLE ${r.role} PASSWORD … in ${r.stack}/${r.service} (as ${r.admin}; the password on stdin)`)
  const res = await p.run(ctx.change, p.registry.stack(r.stack), execCommand(r.service, ['sh', '-c', PG_ALTER, 'sh', r.admin, r.role]), { input: `${password}\n` })
  if (res.exitCode !== 0) throw new FailureError(`ALTER ROLE ${r.role} in ${r.stack}/${r.service} failed: ${res.stderr.trim().split('\n').pop() ?? `exit ${res.exitCode}`}`)
}

async function recreate(ctx: StackCtx, p: Platform, r: { stack: string; services: string[] }, timeout: number): Promise<void> {
  const res = await p.run(ctx.change, p.registry.stack(r.stack), upCommand({ timeout, services: r.services }))
  if (res.exitCode !== 0) throw new FailureError(`${r.stack}/{${r.services.join(',')}} did not come back healthy within ${timeout}s: ${(res.stderr || res.stdout).trim().split('\n').slice(-2).join(' ')}`)
}

export interface PreparedRotation {
  plan: RotationPlan
  /** carries the plan out (in place) */
  apply(o: { timeout: number }): Promise<RotationOutcome>
}

/** Asks Docker what runs and plans the rotation of `changes` (the new values secrets generate would write). */
export async function prepareRotation(ctx: RotationCtx, changes: Record<string, string>): Promise<PreparedRotation> {
  try {
    await checkDocker(ctx)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(`--rotate ${Object.keys(changes).join(', ')}: Docker must answer to tell whether a running service uses it: ${err.message}`, { hint: err.hint })
  }
  const load = () => loadPlatform(ctx, { profiles: 'declared', generating: false })
  const p = load()
  const plan = await planRotation(ctx, p, changes)
  const old = Object.fromEntries(plan.keys.map((k) => [k, p.compose.layers.lookup(k)]))
  return { plan, apply: (o) => rotateInPlace(ctx, load, plan, changes, old, o) }
}
