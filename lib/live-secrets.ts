// `doctor --live`: each secret whose x-secrets entry declares a `check:` is proven against the running service with
// the value the env layers hold (a PostgreSQL role logs in over TCP inside its container). The value reaches the
// container on stdin only, never in argv; a stopped service is reported as not checked, not as a failure.
import { Readable } from 'node:stream'
import type { Platform, StackCtx } from './platform.ts'
import { sourceWhere, type CheckResult, type Finding } from './doctor-check.ts'
import type { SecretDecl } from './registry.ts'
import { execCommand } from './compose.ts'
import { stackRows } from './status.ts'
import { plural } from './format.ts'

/**
 * A constant script: the password is the first line of stdin; role, database and host are arguments ($1, $2, $3). The
 * host is the service's own name on its network, not 127.0.0.1: the official images trust loopback connections, so a
 * login there would prove nothing about the password.
 */
export const PG_LOGIN = 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -X -w -q -h "$3" -U "$1" -d "$2" -tAc "select 1"'

export async function liveSecrets(ctx: Pick<StackCtx, 'exec'>, p: Platform): Promise<CheckResult> {
  const findings: Finding[] = []
  const declared = [...p.registry.secrets.values()].filter((d): d is SecretDecl & { spec: { check: NonNullable<SecretDecl['spec']['check']> } } => Boolean(d.spec.check))
  const running = new Map<string, Set<string>>()
  let proven = 0
  let notRunning = 0
  for (const d of declared) {
    const check = d.spec.check
    const stack = p.registry.stack(d.stack)
    if (!running.has(stack.name)) running.set(stack.name, new Set((await stackRows(ctx, p, stack)).filter((r) => r.State === 'running').map((r) => r.Service)))
    if (!running.get(stack.name)!.has(check.service)) {
      notRunning++
      continue
    }
    const value = p.compose.layers.lookup(d.key)
    const where = `${stack.name}/${check.service}`
    if (!value) {
      findings.push({ status: 'fail', message: `${d.key} is not set, but ${where} runs`, where: d.file, fix: 'restore the .env this installation was set up with (.env.bak), or run npx zx tasks/secrets.ts generate' })
      continue
    }
    const database = check.database ?? check.role
    const r = await p.run(ctx.exec, stack, execCommand(check.service, ['sh', '-c', PG_LOGIN, 'sh', check.role, database, check.service]), { stdin: Readable.from([`${value}\n`]) })
    if (r.exitCode === 0) {
      proven++
      continue
    }
    const why = r.stderr.trim().split('\n').pop() ?? ''
    const wrong = /password authentication failed|no password supplied/.test(r.stderr)
    findings.push({
      status: 'fail',
      message: wrong
        ? `${d.key} does not open role ${check.role} on ${where}: the database holds another password`
        : `${d.key}: cannot log in as ${check.role} on ${where}: ${why}`,
      where: sourceWhere(p.compose.layers, d.key) ?? d.file,
      fix: wrong
        ? check.role === 'postgres' || stack.name !== 'data'
          ? `if the env files are right, set it in the database (ALTER ROLE ${check.role} PASSWORD …, through npx zx tasks/compose.ts ${stack.name} -- exec ${check.service} psql); if the database is right, put the old value back in .env (.env.bak)`
          : `if the env files are right: npx zx tasks/01-data/databases.ts --passwords; if the database is right, put the old value back in .env (.env.bak)`
        : 'is the service healthy? npx zx tasks/health.ts',
    })
  }
  const skipped = notRunning ? `; ${plural(notRunning, 'other')} not checked (service not running)` : ''
  if (!findings.length && !proven) return { id: 'live-secrets', title: 'live secrets', status: 'skip', summary: `none checked: no service holding one of the ${plural(declared.length, 'checkable secret')} is running`, findings }
  return {
    id: 'live-secrets',
    title: 'live secrets',
    status: findings.length ? 'fail' : 'ok',
    summary: findings.length ? plural(findings.length, 'finding') : `${plural(proven, 'secret')} accepted by the running services${skipped}`,
    findings,
  }
}
