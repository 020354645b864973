// `doctor --live` and health's live line: each secret with a declared `check:` proven against its running service with
// the value the env layers hold (pg-login, file-json, infisical-root-key). Values reach a container on stdin only; what
// is read back is compared in-process, never printed; a stopped service counts as not checked. The containers are
// reached through a ServiceAccess (compose by default; the swarm engine's running tasks).
import { timingSafeEqual } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { sourceWhere, type CheckResult, type Finding } from '../model/check-result.ts'
import type { SecretDecl } from '../model/registry.ts'
import type { LiveCheck } from '../model/x-fields.ts'
import { composeAccess, type ServiceAccess } from './access.ts'
import { plural } from '../core/format.ts'
import { registerSecrets } from '../core/redact.ts'
import { judgeRootKey, NO_TABLE, ROOT_KEY_QUERY } from '../infisical/root-key.ts'

/**
 * A constant script: the password is the first line of stdin; role, database and host are arguments ($1, $2, $3). The
 * host is the service's own name on its network, not 127.0.0.1: the official images trust loopback connections, so a
 * login there would prove nothing about the password.
 */
export const PG_LOGIN = 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -X -w -q -h "$3" -U "$1" -d "$2" -tAc "select 1"'

export type CheckedDecl = SecretDecl & { spec: { check: LiveCheck } }
export const hasCheck = (d: SecretDecl): d is CheckedDecl => Boolean(d.spec.check)

/**
 * One secret's live proof. `not-running`: its service does not run; `not-checked`: it runs but holds nothing to check
 * the value against yet (`why` says what); either way nothing was proven.
 */
export interface Proof {
  key: string
  status: 'ok' | 'fail' | 'not-running' | 'not-checked'
  finding?: Finding
  why?: string
}

export { runningServices } from './access.ts'

type Access = Pick<ServiceAccess, 'running' | 'exec'>

/** Proves one declared secret against its running service, with `value` (default: what the env layers hold). */
export async function proveSecret(access: Access, p: Platform, d: CheckedDecl, value = p.compose.layers.lookup(d.key)): Promise<Proof> {
  const check = d.spec.check
  const stack = p.registry.stack(d.stack)
  if (!(await access.running(stack.name)).has(check.service)) return { key: d.key, status: 'not-running' }
  const where = `${stack.name}/${check.service}`
  if (!value)
    return { key: d.key, status: 'fail', finding: { status: 'fail', message: `${d.key} is not set, but ${where} runs`, where: d.file, fix: 'restore the .env this installation was set up with (.env.bak), or run npx zx tasks/secrets.ts generate' } }
  const fileWhere = sourceWhere(p.compose.layers, d.key) ?? d.file
  if (check.method === 'file-json') return proveFileJson(access, p, d, check, value, where, fileWhere)
  if (check.method === 'infisical-root-key') return proveRootKey(access, p, d, check, value, where, fileWhere)
  const database = check.database ?? check.role
  const r = await access.exec(stack, check.service, ['sh', '-c', PG_LOGIN, 'sh', check.role, database, check.service], { stdin: Readable.from([`${value}\n`]) })
  if (r.exitCode === 0) return { key: d.key, status: 'ok' }
  const why = r.stderr.trim().split('\n').pop() ?? ''
  const wrong = /password authentication failed|no password supplied/.test(r.stderr)
  return {
    key: d.key,
    status: 'fail',
    finding: {
      status: 'fail',
      message: wrong ? `${d.key} does not open role ${check.role} on ${where}: the database holds another password` : `${d.key}: cannot log in as ${check.role} on ${where}: ${why}`,
      where: fileWhere,
      fix: wrong
        ? check.role === 'postgres' || stack.name !== 'data'
          ? `if the env files are right, set it in the database (ALTER ROLE ${check.role} PASSWORD …, through npx zx tasks/compose.ts ${stack.name} -- exec ${check.service} psql); if the database is right, put the old value back in .env (.env.bak)`
          : `if the env files are right: npx zx tasks/01-data/databases.ts --passwords; if the database is right, put the old value back in .env (.env.bak)`
        : 'is the service healthy? npx zx tasks/health.ts',
    },
  }
}

type Check<M extends LiveCheck['method']> = Extract<LiveCheck, { method: M }>

async function proveFileJson(access: Access, p: Platform, d: CheckedDecl, check: Check<'file-json'>, value: string, where: string, fileWhere: string): Promise<Proof> {
  const stack = p.registry.stack(d.stack)
  const r = await access.exec(stack, check.service, ['cat', '--', check.path])
  let held: unknown
  try {
    held = r.exitCode === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>)[check.field] : undefined
  } catch {
    held = undefined
  }
  if (typeof held === 'string') registerSecrets([held])
  if (typeof held !== 'string')
    return { key: d.key, status: 'fail', finding: { status: 'fail', message: `${d.key}: cannot read ${check.field} from ${check.path} on ${where}${r.exitCode === 0 ? ' (not JSON, or the field is missing)' : `: ${r.stderr.trim().split('\n').pop() ?? ''}`}`, where: fileWhere, fix: 'is the service healthy? npx zx tasks/health.ts' } }
  if (same(held, value)) return { key: d.key, status: 'ok' }
  return {
    key: d.key,
    status: 'fail',
    finding: {
      status: 'fail',
      message: `${d.key} differs from the ${check.field} that ${where} holds in ${check.path}: the service cannot read the data it encrypted`,
      where: fileWhere,
      fix: keepKeyFix(d, stack.name),
    },
  }
}

/** Reads kms_root_config over the database container's local socket and tries the key on it in-process. */
async function proveRootKey(access: Access, p: Platform, d: CheckedDecl, check: Check<'infisical-root-key'>, value: string, where: string, fileWhere: string): Promise<Proof> {
  const stack = p.registry.stack(d.stack)
  const r = await access.exec(stack, check.service, ['psql', '-X', '-w', '-q', '-U', check.role, '-d', check.database ?? check.role, '-tA', '-c', ROOT_KEY_QUERY])
  if (r.exitCode !== 0 && NO_TABLE.test(r.stderr)) return { key: d.key, status: 'not-checked', why: `Infisical has not set up its database on ${where} yet` }
  const fail = (message: string, fix: string): Proof => ({ key: d.key, status: 'fail', finding: { status: 'fail', message, where: fileWhere, fix } })
  if (r.exitCode !== 0) return fail(`${d.key}: cannot read Infisical's root key from ${where}: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`}`, 'is the service healthy? npx zx tasks/health.ts')
  const v = judgeRootKey(r.stdout, value, check.encoding)
  switch (v.status) {
    case 'opens':
      return { key: d.key, status: 'ok' }
    case 'not-initialized':
      return { key: d.key, status: 'not-checked', why: `Infisical has not created its root key on ${where} yet` }
    case 'hsm':
      return { key: d.key, status: 'not-checked', why: `Infisical's root key on ${where} is wrapped by an HSM, not by this key` }
    case 'bad-key':
      return fail(`${d.key} is ${v.bytes} bytes as Infisical reads it; Infisical needs 32 and will not start with it`, keepKeyFix(d, stack.name))
    case 'unreadable':
      return fail(`${d.key}: cannot read Infisical's root key from ${where}: ${v.why}`, 'is this the database of a supported Infisical version? npx zx tasks/health.ts')
    case 'does-not-open':
      return fail(`${d.key} does not open the root key Infisical keeps in ${where} (kms_root_config): Infisical cannot start, nor read a secret it stored`, keepKeyFix(d, stack.name))
  }
}

/** The fix for a key that encrypts stored data: the old value back, never a new one. */
function keepKeyFix(d: CheckedDecl, stack: string): string {
  return `put the value the data was encrypted with back in .env (.env.bak may hold it), then npx zx tasks/up.ts --stack ${stack}; a key cannot be changed in place${d.spec.rotate ? ` (${d.spec.rotate.procedure})` : ''}`
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Every declared check (or those of `keys`, of `stacks`), as doctor's check result; `health` shows it as one line.
 * `access`: how the containers are reached (default compose).
 */
export async function liveSecrets(ctx: Pick<StackCtx, 'exec'>, p: Platform, opts: { keys?: readonly string[]; stacks?: readonly string[]; access?: ServiceAccess } = {}): Promise<CheckResult> {
  const declared = [...p.registry.secrets.values()].filter(hasCheck).filter((d) => (!opts.keys || opts.keys.includes(d.key)) && (!opts.stacks || opts.stacks.includes(d.stack)))
  const access = opts.access ?? composeAccess(ctx, p)
  const findings: Finding[] = []
  const failed: string[] = []
  let proven = 0
  let notRunning = 0
  const unproven: string[] = []
  for (const d of declared) {
    const r = await proveSecret(access, p, d)
    if (r.status === 'ok') proven++
    else if (r.status === 'not-running') notRunning++
    else if (r.status === 'not-checked') unproven.push(`${d.key}: ${r.why}`)
    else {
      findings.push(r.finding!)
      failed.push(d.key)
    }
  }
  const skipped = (notRunning ? `; ${plural(notRunning, 'other')} not checked (service not running)` : '') + unproven.map((u) => `; not checked: ${u}`).join('')
  if (!findings.length && !proven) return { id: 'live-secrets', title: 'live secrets', status: 'skip', summary: `none checked: no service holding one of the ${plural(declared.length, 'checkable secret')} is running${unproven.map((u) => `; ${u}`).join('')}`, findings }
  return {
    id: 'live-secrets',
    title: 'live secrets',
    status: findings.length ? 'fail' : 'ok',
    summary: findings.length ? `${plural(findings.length, 'mismatch', 'mismatches')} (${failed.join(', ')})` : `${plural(proven, 'secret')} accepted by the running services${skipped}`,
    findings,
  }
}
