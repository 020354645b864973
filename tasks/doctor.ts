// Is the configuration sound? Checks compose metadata and files, env files, settings, variables,
// secrets, secret-file hygiene, shell overrides, ports and hostnames. Changes nothing.
// Exit 0 when sound (warnings allowed), 1 when any check fails.
// Usage: npx zx tasks/doctor.ts [--json]
import { loadPlatformEnv, task } from '../lib/task.ts'
import { loadRegistry, type Registry } from '../lib/registry.ts'
import type { EnvLayers } from '../lib/env-layers.ts'
import { runDoctor } from '../lib/doctor.ts'
import { renderDoctor } from '../lib/doctor-report.ts'

await task({
  summary: 'Check that the configuration is sound',
  json: true,
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
    const sound = !results.some((r) => r.status === 'fail')
    if (ctx.json) ctx.out({ sound, checks: results })
    else ctx.out(renderDoctor(results, ctx.root))
    return sound ? 0 : 1
  },
})
