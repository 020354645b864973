// Is the configuration sound? Checks compose metadata and files, env files, settings, variables,
// secrets, secret-file hygiene, shell overrides, ports and hostnames. Changes nothing.
// Exit 0 when sound (warnings allowed), 1 when any check fails.
// --live also proves each secret with a declared check against the running service (exit 1 on a mismatch).
// Usage: npx zx tasks/doctor.ts [--live] [--json]
import { loadPlatformEnv, task } from '../lib/task/task.ts'
import { loadRegistry, type Registry } from '../lib/model/registry.ts'
import type { EnvLayers } from '../lib/env/layers.ts'
import { runDoctor } from '../lib/doctor/checks.ts'
import { renderDoctor } from '../lib/doctor/report.ts'
import { liveSecrets } from '../lib/stacks/live-secrets.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { checkDocker } from '../lib/docker/preflight.ts'

export default await task({
  summary: 'Check that the configuration is sound',
  json: true,
  // --live talks to Docker (and takes --context like every such task)
  docker: true,
  // the configuration checks hold for either engine; --live is compose-only so far (skipped under swarm)
  swarm: true,
  flags: {
    live: { type: 'boolean', help: 'also check each secret against the running service that uses it (a PostgreSQL role logs in with its password)' },
  },
  examples: ['npx zx tasks/doctor.ts', 'npx zx tasks/doctor.ts --live --json'],
  async run(ctx) {
    // doctor reads a registry whose routes clash on a local port (every other task refuses it), to report every finding
    let registry: Registry | undefined
    let env: EnvLayers | undefined
    const lenient = () => (registry ??= loadRegistry(ctx.root, { allowPortClashes: true }))
    const results = await runDoctor({
      root: ctx.root,
      registry: lenient,
      env: () => (env ??= loadPlatformEnv(ctx.root, lenient)),
      gitTracked: async (path) => {
        const r = await ctx.exec('git', ['ls-files', '--error-unmatch', '--', path], { cwd: ctx.root, nothrow: true })
        return r.exitCode === 0 ? true : /not a git repository/i.test(r.stderr) ? undefined : false
      },
    })
    if (ctx.flags.live) {
      // only on a configuration whose env and registry load: the live checks read both through the platform
      if (results.some((r) => ['metadata', 'env-files', 'settings'].includes(r.id) && r.status === 'fail'))
        results.push({ id: 'live-secrets', title: 'live secrets', status: 'skip', summary: 'the configuration does not load', findings: [] })
      else if (ctx.settings.engine === 'swarm')
        results.push({ id: 'live-secrets', title: 'live secrets', status: 'skip', summary: 'not built for the swarm engine yet (the checks run in compose containers)', findings: [] })
      else {
        await checkDocker(ctx)
        results.push(await liveSecrets(ctx, loadPlatform(ctx, { profiles: 'declared', generating: false })))
      }
    }
    const sound = !results.some((r) => r.status === 'fail')
    if (ctx.json) ctx.out({ sound, checks: results })
    else ctx.out(renderDoctor(results, ctx.root))
    return sound ? 0 : 1
  },
}, import.meta)
