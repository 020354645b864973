// Is the configuration sound? Checks compose metadata and files, env files, settings, variables,
// secrets, secret-file hygiene, shell overrides, ports and hostnames. Changes nothing.
// Exit 0 when sound (warnings allowed), 1 when any check fails.
// --live also proves each secret with a declared check against the running service (exit 1 on a mismatch); under
// --engine swarm in the running task's container on this engine's node.
// Usage: npx zx tasks/doctor.ts [--live] [--json]
import { loadPlatformEnv, task } from '../lib/task/task.ts'
import { loadRegistry, type Registry } from '../lib/model/registry.ts'
import type { EnvLayers } from '../lib/env/layers.ts'
import { runDoctor } from '../lib/doctor/checks.ts'
import { renderDoctor } from '../lib/doctor/report.ts'
import { liveSecrets } from '../lib/stacks/live-secrets.ts'
import { swarmAccess } from '../lib/swarm/access.ts'
import { requireManager } from '../lib/swarm/state.ts'
import { loadPlatform } from '../lib/docker/platform.ts'
import { checkDocker } from '../lib/docker/preflight.ts'
import { stacksNamed } from '../lib/model/routes.ts'
import { hostAssignment } from '../lib/swarm/placement.ts'
import { placementCheck } from '../lib/swarm/placement-report.ts'
import { readNodes } from '../lib/swarm/nodes.ts'
import { StackyardError } from '../lib/core/errors.ts'

export default await task({
  summary: 'Check that the configuration is sound',
  json: true,
  // --live talks to Docker (and takes --context like every such task)
  docker: true,
  // the configuration checks hold for either engine; under swarm --live checks in the running tasks' containers
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
      else {
        await checkDocker(ctx)
        const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
        // under swarm in the running task's container (this engine's node)
        if (ctx.settings.engine === 'swarm') await requireManager(ctx.exec)
        results.push(await liveSecrets(ctx, p, { access: ctx.settings.engine === 'swarm' ? swarmAccess(ctx, p) : undefined }))
      }
    }
    // under swarm: where each stateful service is pinned (with --live, on which node, and whether a node can take it)
    // (settings are read only from a configuration that loads: doctor reports a broken one, it does not stop at it)
    if (!results.some((r) => ['metadata', 'env-files', 'settings'].includes(r.id) && r.status === 'fail') && ctx.settings.engine === 'swarm') {
      const p = loadPlatform(ctx, { profiles: 'declared', generating: false })
      try {
        const hosts = hostAssignment(p.compose.layers.values, p.registry)
        const nodes = ctx.flags.live ? (await checkDocker(ctx), await readNodes(ctx.exec)) : undefined
        results.push(placementCheck(stacksNamed(p.registry, p.settings, [], 'selected'), hosts, nodes))
      } catch (err) {
        if (!(err instanceof StackyardError)) throw err
        results.push({ id: 'placement', title: 'swarm placement', status: 'fail', summary: '1 finding', findings: [{ status: 'fail', message: err.message, ...(err.hint ? { fix: err.hint } : {}) }] })
      }
    }
    const sound = !results.some((r) => r.status === 'fail')
    if (ctx.json) ctx.out({ sound, checks: results })
    else ctx.out(renderDoctor(results, ctx.root))
    return sound ? 0 : 1
  },
}, import.meta)
