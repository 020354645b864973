// Test helper: a temporary repository whose .env points at a fresh fake Infisical, and a runner for the Infisical
// tasks in it (INFISICAL_API_URL comes from the child's environment). Never used by product code.
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tempRepo, type RunOptions, type RunResult, type TempRepo } from './helpers/repo.ts'
import { startFakeInfisical, type FakeInfisical, type FakeInfisicalOptions } from './fake-infisical.ts'

export interface InfisicalRepo {
  fake: FakeInfisical
  repo: TempRepo
  run(task: 'push' | 'pull' | 'status' | 'export' | 'bootstrap' | 'reset', args?: string[], opts?: { env?: Record<string, string | undefined>; input?: string; allowSecrets?: RunOptions['allowSecrets'] }): Promise<RunResult>
  mode(path: string): number
  cleanup(): Promise<void>
}

/** `envLines` are appended to .env after the three connection variables (unless `credentials: false`). */
export async function infisicalRepo(opts: FakeInfisicalOptions & { envLines?: string[]; credentials?: boolean } = {}): Promise<InfisicalRepo> {
  const fake = await startFakeInfisical(opts)
  const repo = tempRepo()
  // hermetic: only the stack that declares the Infisical services (other stacks may be half-written by others)
  for (const folder of readdirSync(join(repo.root, 'compose'))) if (folder !== '00-infrastructure') rmSync(join(repo.root, 'compose', folder), { recursive: true, force: true })
  const creds = opts.credentials === false ? [] : [`INFISICAL_CLIENT_ID=${fake.clientId}`, `INFISICAL_CLIENT_SECRET=${fake.clientSecret}`, `INFISICAL_PROJECT_ID=${fake.projectId}`]
  repo.write('.env', [...creds, ...(opts.envLines ?? [])].join('\n') + '\n', 0o600)
  return {
    fake,
    repo,
    run: (task, args = [], o = {}) => repo.run(`00-infrastructure/infisical/${task}.ts`, args, { input: o.input, env: { INFISICAL_API_URL: fake.url, ...o.env }, allowSecrets: o.allowSecrets }),
    mode: (path) => statSync(join(repo.root, path)).mode & 0o777,
    async cleanup() {
      repo.cleanup()
      await fake.close()
    },
  }
}
