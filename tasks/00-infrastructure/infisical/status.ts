// Compare .env with Infisical, key by key: only in .env, only in Infisical, different, same. Never prints a value
// (nor a fingerprint of one); values are compared as Infisical stores them (surrounding whitespace dropped). Where
// the last synced state is known it says which side changed. Changes nothing.
// Exit code: 0 when every key is the same on both sides, 1 when not (2 for a configuration error).
// Usage: npx zx tasks/00-infrastructure/infisical/status.ts [--all] [--json]
import { task } from '../../../lib/task/task.ts'
import { diffStatus, inSync } from '../../../lib/infisical/plan.ts'
import { pulledSecrets, readRemote } from '../../../lib/infisical/sync.ts'
import { localEnv, localSide, sessionFrom, syncState } from '../../../lib/infisical/tasks.ts'
import { countBy, renderStatus } from '../../../lib/infisical/report.ts'

export default await task({
  summary: 'Show which secrets differ between .env and Infisical (exit 0 in sync, 1 not)',
  flags: { all: { type: 'boolean', help: 'list keys that are the same too' } },
  json: true,
  async run(ctx) {
    const s = sessionFrom(ctx)
    const remote = await readRemote(s.client, s.scope)
    const picked = pulledSecrets(remote.secrets, s.selection)
    const local = localSide(localEnv(ctx), picked.secrets, s.selection)
    const items = diffStatus(local, picked.secrets, syncState(ctx, s))
    const counts = countBy(items.map((i) => i.state))
    const synced = inSync(items)
    if (ctx.json) ctx.out({ scope: s.scope, inSync: synced, counts, keys: items, folderMissing: remote.folderMissing })
    else {
      const table = renderStatus(items, { all: ctx.flags.all })
      if (table) ctx.out(table)
      const summary = `${counts.same ?? 0} same, ${counts.different ?? 0} different, ${counts['only-local'] ?? 0} only in .env, ${counts['only-remote'] ?? 0} only in Infisical`
      if (synced) ctx.log.success(`in sync with Infisical (${s.scope.environment}${s.scope.secretPath === '/' ? '' : s.scope.secretPath}): ${summary}`)
      else ctx.log.warn(`not in sync: ${summary}; push sends .env to Infisical, pull --into .env takes Infisical's values`)
    }
    return synced ? 0 : 1
  },
}, import.meta)
