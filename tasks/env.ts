// Show the environment Compose will see: every key from .env.global < .env < .env.infisical (and the
// derived route URLs), the shell above all, with where each value came from. Secrets are masked;
// --reveal KEY prints one value. Changes nothing.
// Usage: npx zx tasks/env.ts [--json] [--reveal KEY] [--show-layers]
import { task } from '../lib/task/task.ts'
import { describeEnv, renderEnv } from '../lib/env/report.ts'
import { outUnredacted } from '../lib/core/log.ts'
import { UsageError } from '../lib/core/errors.ts'

export default await task({
  summary: 'Show the merged environment and where each value comes from',
  json: true,
  flags: {
    reveal: { type: 'string', placeholder: 'KEY', help: 'print the value of one key, unmasked (nothing else is printed)' },
    'show-layers': { type: 'boolean', help: 'also list every layer that set a key, lowest first' },
  },
  async run(ctx) {
    const env = ctx.env
    if (ctx.flags.reveal) {
      const key = ctx.flags.reveal
      if (!(key in env.values)) throw new UsageError(`${key} is not set in any env layer`, { hint: 'npx zx tasks/env.ts lists the keys' })
      outUnredacted(ctx.json ? JSON.stringify({ key, value: env.values[key], source: env.sources[key] }) : env.values[key])
      return
    }
    let secrets = new Set<string>()
    try {
      secrets = new Set(ctx.registry.secrets.keys())
    } catch (err) {
      ctx.log.warn(`compose metadata is invalid (${(err as Error).message}); masking by name only`)
    }
    const rows = describeEnv(env, secrets)
    if (ctx.json) ctx.out({ files: env.loadedFiles, keys: rows, shadowed: env.shadowed })
    else ctx.out(renderEnv(rows, env, Boolean(ctx.flags.showLayers)))
  },
}, import.meta)
