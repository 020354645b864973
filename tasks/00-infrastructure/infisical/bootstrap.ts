// Set up Infisical for Stackyard and store the machine identity's credentials and the project ID in .env.
// Newer servers: creates the admin, organization, project (+ environment), machine identity with universal auth,
// client secret and project membership through POST /api/v1/admin/bootstrap and the admin token. 2024 builds (no
// bootstrap API): prints the web-UI steps, then continues from the identity's credentials. Re-running when .env
// already works changes nothing; a run after a failure continues from the failed step (progress in
// .stackyard/infisical-bootstrap.json, 0600). Secrets never go through argv: the admin password and a client secret
// come from stdin (--password-stdin, --client-secret-stdin), the environment (INFISICAL_ADMIN_PASSWORD), or a masked prompt.
// Usage: npx zx tasks/00-infrastructure/infisical/bootstrap.ts [--email E] [--organization O] [--password-stdin] [--dry-run]
//        npx zx tasks/00-infrastructure/infisical/bootstrap.ts --client-id ID --project-id ID --client-secret-stdin
import { task } from '../../../lib/task/task.ts'
import { UsageError } from '../../../lib/core/errors.ts'
import { scope } from '../../../lib/core/scope.ts'
import { configValues } from '../../../lib/infisical/config.ts'
import { bootstrapAndStore } from '../../../lib/infisical/tasks.ts'

export default await task({
  summary: 'Bootstrap Infisical (admin, project, machine identity) and store its credentials in .env',
  flags: {
    email: { type: 'string', placeholder: 'EMAIL', help: 'admin email (servers with the bootstrap API)' },
    organization: { type: 'string', placeholder: 'NAME', help: 'organization name (default Stackyard)' },
    project: { type: 'string', placeholder: 'NAME', default: 'stackyard', help: 'project to create' },
    identity: { type: 'string', placeholder: 'NAME', default: 'stackyard-sync', help: 'machine identity to create' },
    'password-stdin': { type: 'boolean', help: 'read the admin password from stdin' },
    'client-id': { type: 'string', placeholder: 'ID', help: 'an existing machine identity (servers without the bootstrap API)' },
    'project-id': { type: 'string', placeholder: 'ID', help: 'the existing project to sync with' },
    'client-secret-stdin': { type: 'boolean', help: "read the identity's client secret from stdin" },
  },
  dryRun: true,
  json: true,
  async run(ctx) {
    if (ctx.flags.passwordStdin && ctx.flags.clientSecretStdin) throw new UsageError('--password-stdin and --client-secret-stdin both read stdin: give one', { hint: 'the other can come from the environment or a prompt' })
    const stdin = ctx.flags.passwordStdin || ctx.flags.clientSecretStdin ? scope().readStdin().replace(/\r?\n$/, '') : undefined
    const { result: r, stored } = await bootstrapAndStore(ctx, {
      email: ctx.flags.email,
      organization: ctx.flags.organization,
      projectName: ctx.flags.project,
      identityName: ctx.flags.identity,
      password: ctx.flags.passwordStdin ? stdin : ctx.env.lookup('INFISICAL_ADMIN_PASSWORD') || undefined,
      clientId: ctx.flags.clientId,
      clientSecret: ctx.flags.clientSecretStdin ? stdin : ctx.flags.clientId ? configValues(ctx.env).INFISICAL_CLIENT_SECRET : undefined,
      projectId: ctx.flags.projectId,
      interactive: ctx.interactive,
      ask: ctx.ask,
    })
    if (ctx.json) ctx.out({ mode: r.mode, projectId: r.projectId, clientId: r.clientId, created: r.created, stored: [...stored.added, ...stored.changed], dryRun: ctx.dryRun })
    if (r.created.length) ctx.log.success(`created: ${r.created.join(', ')}`)
    if (r.mode !== 'already-configured' && !ctx.dryRun) ctx.log.success('.env: INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET and INFISICAL_PROJECT_ID stored (mode 0600, previous file in .env.bak); next: npx zx tasks/00-infrastructure/infisical/push.ts')
  },
}, import.meta)
