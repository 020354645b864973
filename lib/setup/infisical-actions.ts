// What the setup wizard does with Infisical after the review: start the bundled instance, bootstrap it (or check the
// identity already in .env), push the .env secrets. The same libraries and order as the Infisical tasks
// (tasks/00-infrastructure/infisical/bootstrap.ts and push.ts); nothing is asked here that the steps did not ask.
import { bootstrapAndStore, pushSecrets } from '../infisical/tasks.ts'
import { keptLines } from '../infisical/report.ts'
import type { Action } from './context.ts'
import { startStacks } from './start.ts'

export function startAction(stack: string, timeout: number): Action {
  return {
    title: `start the ${stack} stack with Infisical (healthy before it is bootstrapped)`,
    docker: true,
    starts: true,
    resume: [`npx zx tasks/up.ts --stack ${stack}`],
    async run(a) {
      a.report = await startStacks(a.task(), [stack], timeout)
    },
  }
}

export function bootstrapAction(o: { email?: string; password?: string; existing: boolean }): Action {
  return {
    title: o.existing ? 'Infisical: check the machine identity in .env' : `Infisical: bootstrap (admin ${o.email}, organization, project, machine identity); its credentials stored in .env`,
    docker: true,
    starts: true,
    resume: [o.existing ? 'npx zx tasks/00-infrastructure/infisical/bootstrap.ts' : `npx zx tasks/00-infrastructure/infisical/bootstrap.ts --email ${o.email} --password-stdin`],
    async run(a) {
      const t = a.task()
      const { result: r } = await bootstrapAndStore(t, {
        email: o.email,
        organization: 'Stackyard',
        projectName: 'stackyard',
        identityName: 'stackyard-sync',
        password: o.password,
        interactive: a.interactive,
        ask: a.ask,
      })
      if (r.mode === 'already-configured') return
      t.log.success(`Infisical ${r.mode === 'bootstrapped' ? `bootstrapped (${r.created.join(', ')})` : 'connected'}; INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID stored in .env`)
    },
  }
}

/** tasks/00-infrastructure/infisical/push.ts without --prune or --force: create and update, keep what changed in Infisical. */
export function pushAction(o: { bundled: boolean }): Action {
  return {
    title: 'Infisical: push the declared secrets from .env (batched; a second push sends nothing)',
    // the bundled instance runs only once started
    docker: o.bundled,
    starts: o.bundled,
    resume: ['npx zx tasks/00-infrastructure/infisical/push.ts'],
    async run(a) {
      const t = a.task()
      const { result, plan } = await pushSecrets(t, { progress: (what) => t.log.step(`Infisical: ${what}`) })
      if (result.pending) a.problems.push('Infisical: the pushed changes wait for approval in Infisical')
      else t.log.success(result.created + result.updated ? `Infisical: ${result.created} created, ${result.updated} updated` : 'Infisical already matches .env')
      a.problems.push(...keptLines('push', plan.items, 'Infisical: '))
    },
  }
}
