// `doctor --live` and health's live line: each secret with a declared `check:` proven against its running service with
// the value the env layers hold (pg-login, file-json). Values reach a container on stdin only; what is read back is
// compared in-process, never printed; a stopped service counts as not checked.
import { timingSafeEqual } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { sourceWhere, type CheckResult, type Finding } from '../model/check-result.ts'
import type { SecretDecl } from '../model/registry.ts'
import type { LiveCheck } from '../model/x-fields.ts'
import { execCommand } from '../docker/compose.ts'
import { stackRows } from './status.ts'
import { plural } from '../core/format.ts'
import { registerSecrets } from '../core/redact.ts'

/**
 * A constant script: the password is the first line of stdin; role, database and host are arguments ($1, $2, $3). The
 * host is the service's own name on its network, not 127.0.0.1: the official images trust loopback connections, so a
 * login there would prove nothing about the password.
 */
export const PG_LOGIN = 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -X -w -q -h "$3" -U "$1" -d "$2" -tAc "select 1"'

export type CheckedDecl = SecretDecl & { spec: { check: LiveCheck } }
export const hasCheck = (d: SecretDecl): d is CheckedDecl => Boolean(d.spec.check)

/** One secret's live proof. `not-running`: its service does not run, so nothing was proven either way. */
export interface Proof {
  key: string
  status: 'ok' | 'fail' | 'not-running'
  finding?: Finding
}

/** Which services of each stack run (one `compose ps` per stack, asked once). */
export function runningServices(ctx: Pick<StackCtx, 'exec'>, p: Platform): (stack: string) => Promise<Set<string>> {
  const asked = new Map<string, Promise<Set<string>>>()
  return (name) => {
    let s = asked.get(name)
    if (!s) {
      s = stackRows(ctx, p, p.registry.stack(name)).then((rows) => new Set(rows.filter((r) => r.State === 'running').map((r) => r.Service)))
      asked.set(name, s)
    }
    return s
  }
}

/** Proves one declared secret against its running service, with `value` (default: what the env layers hold). */
export async function proveSecret(ctx: Pick<StackCtx, 'exec'>, p: Platform, d: CheckedDecl, running: (stack: string) => Promise<Set<string>>, value = p.compose.layers.lookup(d.key)): Promise<Proof> {
  const check = d.spec.check
  const stack = p.registry.stack(d.stack)
  if (!(await running(stack.name)).has(check.service)) return { key: d.key, status: 'not-running' }
  const where = `${stack.name}/${check.service}`
  if (!value)
    return { key: d.key, status: 'fail', finding: { status: 'fail', message: `${d.key} is not set, but ${where} runs`, where: d.file, fix: 'restore the .env this installation was set up with (.env.bak), or run npx zx tasks/secrets.ts generate' } }
  const fileWhere = sourceWhere(p.compose.layers, d.key) ?? d.file
  if (check.method === 'file-json') {
    const r = await p.run(ctx.exec, stack, execCommand(check.service, ['cat', '--', check.path]))
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
        fix: `put the value the data was encrypted with back in .env (.env.bak may hold it), then npx zx tasks/up.ts --stack ${stack.name}; a key cannot be changed in place${d.spec.rotate ? ` (${d.spec.rotate.procedure})` : ''}`,
      },
    }
  }
  const database = check.database ?? check.role
  const r = await p.run(ctx.exec, stack, execCommand(check.service, ['sh', '-c', PG_LOGIN, 'sh', check.role, database, check.service]), { stdin: Readable.from([`${value}\n`]) })
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

const same = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Every declared check (or those of `keys`, of `stacks`), as doctor's check result; `health` shows it as one line. */
export async function liveSecrets(ctx: Pick<StackCtx, 'exec'>, p: Platform, opts: { keys?: readonly string[]; stacks?: readonly string[] } = {}): Promise<CheckResult> {
  const declared = [...p.registry.secrets.values()].filter(hasCheck).filter((d) => (!opts.keys || opts.keys.includes(d.key)) && (!opts.stacks || opts.stacks.includes(d.stack)))
  const running = runningServices(ctx, p)
  const findings: Finding[] = []
  const failed: string[] = []
  let proven = 0
  let notRunning = 0
  for (const d of declared) {
    const r = await proveSecret(ctx, p, d, running)
    if (r.status === 'ok') proven++
    else if (r.status === 'not-running') notRunning++
    else {
      findings.push(r.finding!)
      failed.push(d.key)
    }
  }
  const skipped = notRunning ? `; ${plural(notRunning, 'other')} not checked (service not running)` : ''
  if (!findings.length && !proven) return { id: 'live-secrets', title: 'live secrets', status: 'skip', summary: `none checked: no service holding one of the ${plural(declared.length, 'checkable secret')} is running`, findings }
  return {
    id: 'live-secrets',
    title: 'live secrets',
    status: findings.length ? 'fail' : 'ok',
    summary: findings.length ? `${plural(findings.length, 'mismatch', 'mismatches')} (${failed.join(', ')})` : `${plural(proven, 'secret')} accepted by the running services${skipped}`,
    findings,
  }
}
