// The models of the model server (Ollama, the variant of the hardware profile). `pull` fetches the models listed in
// OLLAMA_PULL_MODELS (or --model) that it does not hold yet; --update fetches them all again (newer builds of the
// same tags). `list` shows what it holds and which listed models are missing.
// Changes (pull): model files in the stackyard-ollama-data volume. A second pull changes nothing.
// Usage: npx zx tasks/02-compute/models.ts pull|list [--model NAME]… [--update] [--dry-run] [--json]
import { task } from '../../lib/task/task.ts'
import { table } from '../../lib/core/format.ts'
import { listModels, modelKey, MODELS_VARIABLE, parseModels, pullModels } from '../../lib/stacks/ollama-models.ts'

export default await task({
  summary: 'Pull the listed models into Ollama, or list what it holds',
  docker: true,
  args: [{ name: 'action', help: `pull: fetch the models ${MODELS_VARIABLE} lists that are missing; list: show what is there`, choices: ['pull', 'list'], required: true }],
  flags: {
    model: { type: 'strings', placeholder: 'NAME', help: `a model to pull instead of the ${MODELS_VARIABLE} list (repeatable)` },
    update: { type: 'boolean', help: 'pull every listed model again, also those already there (newer builds)' },
  },
  dryRun: true,
  json: true,
  examples: ['npx zx tasks/02-compute/models.ts pull', 'npx zx tasks/02-compute/models.ts pull --model llama3.2:3b', 'npx zx tasks/02-compute/models.ts list'],
  async run(ctx) {
    const wanted = ctx.flags.model.length
      ? parseModels(ctx.flags.model.join(' '), '--model')
      : parseModels(ctx.env.values[MODELS_VARIABLE] ?? '', MODELS_VARIABLE)
    if (ctx.args.action === 'list') {
      const r = await listModels(ctx, wanted)
      if (ctx.json) return ctx.out(r)
      const have = new Set(r.installed.map(modelKey))
      const missing = wanted.filter((w) => !have.has(modelKey(w)))
      ctx.out(r.installed.length ? table([['model'], ...r.installed.map((m) => [m])]) : `${r.service} holds no model yet`)
      if (missing.length) ctx.log.warn(`listed but not pulled: ${missing.join(', ')} (npx zx tasks/02-compute/models.ts pull)`)
      return
    }
    if (!wanted.length) {
      ctx.log.warn(`no model to pull: set ${MODELS_VARIABLE} in .env (e.g. ${MODELS_VARIABLE}="llama3.2:3b nomic-embed-text") or pass --model`)
      return
    }
    const r = await pullModels(ctx, wanted, { update: ctx.flags.update ?? false })
    if (ctx.json) return ctx.out(r)
    if (!r.pulled.length) ctx.log.success(`${r.service} holds every listed model (${wanted.join(', ')}): nothing to pull`)
  },
}, import.meta)
