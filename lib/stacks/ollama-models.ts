// Models of the model server (Ollama): which variant runs under the hardware profile (found from the compute plan,
// not hard-coded), what it holds (`ollama list`), and the pulls of the models OLLAMA_PULL_MODELS (or --model) asks
// for that it lacks. Commands go through the context's runners (dry-run aware); failures are collected.
import { ConfigError, FailureError, UsageError } from '../core/errors.ts'
import { execCommand, psCommand } from '../docker/compose.ts'
import { parsePs } from '../docker/state.ts'
import { duration, plural } from '../core/format.ts'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import type { Service, Stack } from '../model/registry.ts'

/** The variable listing the models to pull (not OLLAMA_MODELS: Ollama reads that one as its models folder). */
export const MODELS_VARIABLE = 'OLLAMA_PULL_MODELS'
const MODEL = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*(:[a-z0-9][a-z0-9._-]*)?$/i

/** Model names from a list separated by spaces or commas; a bad name is a config error naming where it came from. */
export function parseModels(text: string, where: string): string[] {
  const models = text.split(/[\s,]+/).filter(Boolean)
  const bad = models.filter((m) => !MODEL.test(m))
  if (bad.length) throw new ConfigError(`${where}: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length > 1 ? 'are not model names' : 'is not a model name'}`, { hint: 'names as on ollama.com/library, e.g. llama3.2:3b nomic-embed-text' })
  return [...new Set(models)]
}

/** `llama3.2` and `llama3.2:latest` are the same model. */
export function modelKey(name: string): string {
  const last = name.split('/').pop()!
  return (last.includes(':') ? name : `${name}:latest`).toLowerCase()
}

/** The NAME column of `ollama list`. */
export function parseOllamaList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n && n !== 'NAME')
}

export interface ModelServer {
  platform: Platform
  stack: Stack
  service: Service
}

/** The Ollama service that runs under the current hardware profile. */
export function modelServer(ctx: Pick<StackCtx, 'root' | 'registry'>): ModelServer {
  const platform = loadPlatform(ctx, { profiles: 'active', generating: false })
  for (const stack of platform.registry.stacks)
    for (const service of platform.plan(stack).enabled)
      if (/(^|\/)ollama\/ollama:/.test(service.image ?? '')) return { platform, stack, service }
  throw new UsageError(`no model server runs with the hardware profile ${platform.settings.profile}`, { hint: 'set STACKYARD_PROFILE to cpu, gpu-nvidia or gpu-amd (or pass --profile to up)' })
}

async function installed(ctx: StackCtx, m: ModelServer): Promise<string[]> {
  const { platform: p, stack, service } = m
  const ps = await p.run(ctx.exec, stack, psCommand())
  const row = ps.exitCode === 0 ? parsePs(ps.stdout).find((r) => r.Service === service.name) : undefined
  if (row?.State !== 'running') throw new FailureError(`${stack.name}/${service.name} is not running`, { hint: `start it first: npx zx tasks/up.ts --stack ${stack.name}` })
  const list = await p.run(ctx.exec, stack, execCommand(service.name, ['ollama', 'list']))
  if (list.exitCode !== 0) throw new FailureError(`ollama list failed in ${service.name}: ${(list.stderr || list.stdout).trim()}`, { hint: `is it healthy? npx zx tasks/status.ts --stack ${stack.name}` })
  return parseOllamaList(list.stdout)
}

export interface ModelsReport {
  service: string
  installed: string[]
  wanted: string[]
  pulled: string[]
  failed: Array<{ model: string; error: string }>
}

/** What the server holds, and which of the wanted models it lacks. */
export async function listModels(ctx: StackCtx, wanted: string[]): Promise<ModelsReport> {
  const m = modelServer(ctx)
  const have = await installed(ctx, m)
  return { service: m.service.name, installed: have, wanted, pulled: [], failed: [] }
}

/** Pulls the wanted models the server lacks (all of them with `update`: a newer build of the same tag). */
export async function pullModels(ctx: StackCtx, wanted: string[], o: { update: boolean }): Promise<ModelsReport> {
  const m = modelServer(ctx)
  const have = new Set((await installed(ctx, m)).map(modelKey))
  const todo = o.update ? wanted : wanted.filter((w) => !have.has(modelKey(w)))
  const report: ModelsReport = { service: m.service.name, installed: [...have], wanted, pulled: [], failed: [] }
  for (const [i, model] of todo.entries()) {
    ctx.log.step(`${m.service.name}: pulling ${model} (${i + 1}/${todo.length}; large models take minutes)`)
    const started = Date.now()
    const r = await ctx.change('docker', m.platform.args(m.stack, execCommand(m.service.name, ['ollama', 'pull', model])), { nothrow: true, env: m.platform.env })
    if (r.exitCode === 0) {
      report.pulled.push(model)
      if (!ctx.dryRun) ctx.log.success(`${model} (${duration(Date.now() - started)})`)
    } else {
      const error = (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.exitCode}`
      report.failed.push({ model, error })
      ctx.log.error(`${model}: ${error}`)
    }
  }
  if (report.failed.length)
    throw new FailureError(`${plural(report.failed.length, 'model')} could not be pulled: ${report.failed.map((f) => f.model).join(', ')}`, { hint: 'check the names on ollama.com/library and the server\'s network access' })
  return report
}
