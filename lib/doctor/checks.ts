// Configuration checks for `doctor`: each check returns a status and findings with the fix. Reads the
// repository (registry, env files, modes, git index through the injected runner); changes nothing.
import { statSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadEnvLayers } from '../env/layers.ts'
import { CURRENT_RULES, type DotenvRules } from '../env/dotenv.ts'
import { modelledCompose } from '../env/compose-rules.ts'
import { isSecretKey } from '../env/secrecy.ts'
import type { Registry } from '../model/registry.ts'
import { BASE_FILE, STACK_DIR, hardwareVariants } from '../model/registry.ts'
import { validateComposeFile } from '../model/compose-spec.ts'
import { checkSecret } from '../model/secrets.ts'
import { readSettings } from '../model/settings.ts'
import { activeRoutes, derivedEnv, routeHost } from '../model/routes.ts'
import { secretFileFindings } from '../model/secret-files.ts'
import { plural } from '../core/format.ts'
import { infisicalCheck } from './infisical.ts'
import { result, sourceWhere, type CheckResult, type Finding } from '../model/check-result.ts'
import type { Check, DoctorInput, Loaded } from './check.ts'
import { backupCheck, socketProxyCheck } from './ops.ts'

const skipped = (id: string, title: string, why: string): CheckResult => ({ id, title, status: 'skip', summary: why, findings: [] })

const errorWhere = (err: Error): string | undefined => {
  const e = err as { file?: string; line?: number }
  return e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : undefined
}

export const checks: Check[] = [
  function metadata(_input, l) {
    if (l.registryError)
      return result('metadata', 'compose metadata', [{ status: 'fail', message: l.registryError.message, where: errorWhere(l.registryError), fix: (l.registryError as { hint?: string }).hint }], '')
    const r = l.registry!
    return result('metadata', 'compose metadata', [], `${plural(r.stacks.length, 'stack')}, ${plural(r.services.length, 'service')}, ${plural(r.routes.length, 'route')}, ${plural(r.secrets.size, 'secret')} declared`)
  },

  function composeSchema(input) {
    const dir = join(input.root, STACK_DIR)
    const files: string[] = []
    if (existsSync(dir))
      for (const folder of readdirSync(dir).sort())
        if (statSync(join(dir, folder)).isDirectory())
          for (const f of readdirSync(join(dir, folder)).sort())
            if (/^docker-compose(\..+)?\.ya?ml$/.test(f)) files.push(`${STACK_DIR}/${folder}/${f}`)
    const findings: Finding[] = []
    for (const f of files) {
      for (const p of validateComposeFile(join(input.root, f), f))
        findings.push({ status: 'fail', message: `${p.path || '(top level)'}: ${p.message}`, where: `${p.file}${p.line ? `:${p.line}` : ''}`, fix: 'see https://github.com/compose-spec/compose-spec/blob/main/spec.md' })
      const name = f.split('/').pop()!
      if (name !== BASE_FILE && !/^docker-compose\.override\.(private|public)\.yml$/.test(name))
        findings.push({ status: 'warn', message: `${name} is not used by Stackyard`, where: f, fix: `merge it into ${BASE_FILE} or an override (docker-compose.override.private.yml / .public.yml), or delete it` })
    }
    return result('compose-schema', 'compose files', findings, `${plural(files.length, 'file')} valid against the compose-spec schema`)
  },

  function envFiles(_input, l) {
    if (l.envError) return result('env-files', 'env files', [{ status: 'fail', message: l.envError.message, where: errorWhere(l.envError), fix: (l.envError as { hint?: string }).hint }], '')
    return result('env-files', 'env files', [], `${l.env!.loadedFiles.join(' < ') || 'none'} parse as Compose reads them`)
  },

  function settings(_input, l) {
    if (!l.env) return skipped('settings', 'settings', 'env files did not load')
    if (l.settingsError) return result('settings', 'settings', [{ status: 'fail', message: l.settingsError.message, fix: (l.settingsError as { hint?: string }).hint }], '')
    const s = l.settings!
    return result('settings', 'settings', [], `${s.environment} environment${s.domain ? `, domain ${s.domain}` : ''}, profile ${s.profile}${s.profiles.length ? ` + ${s.profiles.join(', ')}` : ''}`)
  },

  function variables(_input, l) {
    if (!l.registry || !l.env) return skipped('variables', 'compose variables', 'needs valid metadata and env files')
    const findings: Finding[] = []
    const seen = new Set<string>()
    for (const v of l.registry.variables) {
      if (seen.has(v.name)) continue
      const defined = l.env.values[v.name] !== undefined
      if (defined || l.registry.secrets.has(v.name)) continue // missing secrets are the secrets check's
      if (v.hasDefault && !v.required) continue
      const uses = l.registry.variables.filter((x) => x.name === v.name && !(x.hasDefault && !x.required))
      if (uses.length === 0) continue
      seen.add(v.name)
      findings.push({
        status: 'fail',
        message: `\${${v.name}} is used but defined nowhere (${uses.map((u) => u.path).slice(0, 2).join(', ')})`,
        where: uses[0].file,
        fix: `define ${v.name} in .env.global (a shared default) or .env, declare it in x-secrets, or give it a default: \${${v.name}:-value}`,
      })
    }
    const names = new Set(l.registry.variables.map((v) => v.name))
    return result('variables', 'compose variables', findings, `all ${names.size} variables used by compose files are defined`)
  },

  function secrets(input, l) {
    if (!l.registry || !l.env) return skipped('secrets', 'secrets', 'needs valid metadata and env files')
    const findings: Finding[] = []
    const values = l.env.files
    const registry = l.registry
    // a fresh clone: one finding that says what to run, not one per secret
    const noEnv = !existsSync(join(input.root, '.env')) && !l.env.loadedFiles.some((f) => f !== '.env.global')
    const missing = [...registry.secrets.values()].filter((d) => d.spec.format !== 'external' && checkSecret(d.spec, values[d.key], values) === 'missing')
    if (noEnv && missing.length)
      findings.push({ status: 'fail', message: `no secret is set yet (no .env): ${plural(missing.length, 'generated secret')} to create`, where: '.env', fix: 'run npx zx tasks/setup.ts (or npx zx tasks/secrets.ts generate)' })
    // a secret only services under a profile that is off use: Compose still reads it (it interpolates every service)
    const settings = l.settings
    const offOnly = (key: string) => {
      const uses = registry.variables.filter((v) => v.name === key && v.path.startsWith('services.'))
      const off = uses.map((v) => registry.services.find((s) => registry.stack(s.stack).file === v.file && s.name === v.path.split('.')[1])).map((s) => s?.profiles.filter((p) => !settings?.profiles.includes(p)) ?? [])
      return uses.length > 0 && off.every((p) => p.length > 0) ? [...new Set(off.flat())] : []
    }
    for (const d of registry.secrets.values()) {
      const problem = checkSecret(d.spec, values[d.key], values)
      if (!problem) continue
      if (noEnv && problem === 'missing' && d.spec.format !== 'external') continue
      const generated = d.spec.format !== 'external'
      const off = problem === 'missing' ? offOnly(d.key) : []
      findings.push({
        status: 'fail',
        message: `${d.key} ${problem}${off.length ? ` (Compose reads it even while the ${off.join(', ')} profile is off)` : ''}`,
        where: sourceWhere(l.env, d.key) ?? d.file,
        fix: generated
          ? problem === 'missing'
            ? 'run npx zx tasks/secrets.ts generate'
            : d.spec.rotate?.method === 'refuse'
              ? `it cannot be replaced in place (${d.spec.rotate.reason}): ${d.spec.rotate.procedure}`
              : `run npx zx tasks/secrets.ts generate --rotate ${d.key} (data encrypted with the old value becomes unreadable)`
          : `set ${d.key} in .env: ${d.spec.description}`,
      })
    }
    const unset = [...l.registry.secrets.values()].filter((d) => d.spec.format === 'external' && d.spec.optional && !values[d.key]).length
    const present = l.registry.secrets.size - unset
    return result('secrets', 'secrets', findings, `${plural(present, 'declared secret')} present and well-formed${unset ? `; ${unset} optional external ${unset === 1 ? 'one' : 'ones'} not set` : ''}`)
  },

  async function secretFiles(input) {
    // every file that holds secrets, not only .env: backups, temp copies, the backups folder (lib/model/secret-files.ts)
    const findings: Finding[] = await secretFileFindings(input.root, input.gitTracked)
    if (!existsSync(join(input.root, '.env'))) findings.push({ status: 'warn', message: '.env does not exist yet', fix: 'run npx zx tasks/setup.ts (or npx zx tasks/secrets.ts generate)' })
    return result('secret-files', 'secret files', findings, 'the files holding secrets are private (mode 0600, backups folder 0700) and not tracked by git')
  },

  function shadowed(_input, l) {
    if (!l.env) return skipped('shadowed', 'shell environment', 'env files did not load')
    const findings: Finding[] = l.env.shadowed
      .filter((s) => s.differs)
      .map((s) => ({
        status: 'warn' as const,
        message: `${s.key} is set in your shell and overrides ${s.file}:${s.line} (Compose gives the shell precedence)`,
        where: `${s.file}:${s.line}`,
        fix: `unset ${s.key} in your shell, or make the file value the one you want`,
      }))
    return result('shadowed', 'shell environment', findings, 'no shell variable overrides a file value')
  },

  function ports(_input, l) {
    if (!l.registry) return skipped('ports', 'local ports', 'needs valid metadata')
    const findings: Finding[] = []
    const byPort = new Map<number, string[]>()
    for (const r of l.registry.routes) byPort.set(r.local_port, [...(byPort.get(r.local_port) ?? []), `${r.stack}/${r.service}`])
    for (const [port, owners] of byPort)
      if (owners.length > 1 && !variantsOnly(l.registry, owners)) findings.push({ status: 'fail', message: `local port ${port} is claimed by ${owners.join(' and ')}`, fix: 'give each x-route its own local_port' })
    return result('ports', 'local ports', findings, `${byPort.size} local ports, all distinct`)
  },

  function hostnames(_input, l) {
    if (!l.registry) return skipped('hostnames', 'hostnames', 'needs valid metadata')
    const findings: Finding[] = []
    const bySub = new Map<string, string[]>()
    for (const r of l.registry.routes) bySub.set(r.subdomain, [...(bySub.get(r.subdomain) ?? []), `${r.stack}/${r.service}`])
    for (const [sub, owners] of bySub)
      if (owners.length > 1 && !variantsOnly(l.registry, owners)) findings.push({ status: 'fail', message: `subdomain "${sub}" is claimed by ${owners.join(' and ')}`, fix: 'give each x-route its own subdomain' })
    const s = l.settings
    // hardware variants share a route because only one runs: two running at once means two hardware profiles are on
    const running = new Map<string, string[]>()
    if (s && l.env) for (const r of activeRoutes(l.registry, s, l.env.values)) running.set(r.subdomain, [...(running.get(r.subdomain) ?? []), `${r.stack}/${r.service}`])
    for (const [sub, owners] of running)
      if (owners.length > 1 && variantsOnly(l.registry, owners))
        findings.push({ status: 'fail', message: `subdomain "${sub}" would be served by ${owners.join(' and ')} at once: more than one hardware profile is on`, where: 'STACKYARD_PROFILES', fix: 'choose the hardware profile with STACKYARD_PROFILE only; remove cpu/gpu-nvidia/gpu-amd from STACKYARD_PROFILES' })
    if (s?.domain)
      for (const r of l.env ? activeRoutes(l.registry, s, l.env.values) : [])
        if (routeHost(r, s)!.length > 253) findings.push({ status: 'fail', message: `${routeHost(r, s)} is longer than 253 characters` })
    const example = s?.domain && l.registry.routes[0] ? ` (e.g. ${routeHost(l.registry.routes[0], s)})` : ''
    return result('hostnames', 'hostnames', findings, `${bySub.size} subdomains, all distinct${example}`)
  },
  composeVersions,
  infisicalCheck,
  socketProxyCheck,
  backupCheck,
]

/** Each version-dependent behaviour alone, with what to write so that every Compose reads the same. */
const VERSION_RULES: Array<{ rules: DotenvRules; since: string; fix: string }> = [
  { rules: { ...CURRENT_RULES, earlierFilesFirst: true }, since: '2.39.0', fix: 'it uses a key that an earlier file also sets: give the two keys different names, or set the value in one file only' },
  { rules: { ...CURRENT_RULES, setenvStrict: true }, since: '2.39.3', fix: 'write KEY=value (end the file with a newline; nothing after a closing quote) and remove NUL characters' },
  { rules: { ...CURRENT_RULES, eagerDefaults: true }, since: '5.0.2', fix: 'a ${Y:?…} inside a default fails on older Compose even when the default is not used: set Y, or drop the inner :?' },
]

/**
 * The env files mean the same to every Compose since the minimum: each of the three behaviours that changed is
 * tried alone against the current rules; a key whose value (or a file that fails) differs is named with both
 * readings and how to write it so both agree.
 */
function composeVersions(input: DoctorInput, l: Loaded): CheckResult {
  const title = 'Compose versions'
  if (!l.env || !l.registry || !l.settings) return skipped('compose-versions', title, 'env files did not load')
  const modelled = modelledCompose(input.root, l.env.shell)
  const derived = derivedEnv(l.registry, l.settings)
  const read = (rules: DotenvRules) => {
    try {
      return { layers: loadEnvLayers({ root: input.root, derived, rules }) }
    } catch (err) {
      return { error: err as Error }
    }
  }
  const now = read(CURRENT_RULES)
  const findings: Finding[] = []
  for (const v of VERSION_RULES) {
    const old = read(v.rules)
    if (now.error) break
    if (old.error) {
      findings.push({ status: 'warn', message: `Compose before ${v.since} refuses it: ${old.error.message}`, where: errorWhere(old.error), fix: v.fix })
      continue
    }
    for (const [key, value] of Object.entries(now.layers!.values)) {
      const before = old.layers!.values[key]
      if (before === value) continue
      // a secret's readings are not shown, not even the older one (a part of the secret)
      const secret = isSecretKey(key, now.layers!, l.registry.secrets)
      findings.push({
        status: 'warn',
        message: secret
          ? `${key} reads differently with Compose before ${v.since} and with newer ones (a secret: values not shown)`
          : `${key} is ${JSON.stringify(before ?? '')} with Compose before ${v.since} and ${JSON.stringify(value)} with newer ones`,
        where: sourceWhere(now.layers!, key),
        fix: v.fix,
      })
    }
  }
  const which = modelled.version ? `Compose ${modelled.version} (${modelled.source === 'shell' ? 'STACKYARD_COMPOSE_VERSION' : 'measured by the last up'})` : 'the current Compose (none measured yet)'
  return result('compose-versions', title, findings, `the env files read the same under every Compose version; modelling ${which}`)
}

/** True when every pair of these `stack/service` owners are hardware variants of one another (see hardwareVariants, lib/model/registry.ts). */
function variantsOnly(registry: Registry, owners: string[]): boolean {
  const services = owners.map((o) => registry.services.find((s) => `${s.stack}/${s.name}` === o)!)
  return services.every((a, i) => services.every((b, j) => i === j || hardwareVariants(a, b)))
}

export async function runDoctor(input: DoctorInput, extra: Check[] = []): Promise<CheckResult[]> {
  const loaded: Loaded = {}
  try {
    loaded.registry = input.registry()
  } catch (err) {
    loaded.registryError = err as Error
  }
  try {
    loaded.env = input.env()
  } catch (err) {
    loaded.envError = err as Error
  }
  if (loaded.env) {
    try {
      loaded.settings = readSettings(loaded.env.values, loaded.env)
    } catch (err) {
      loaded.settingsError = err as Error
    }
  }
  const results: CheckResult[] = []
  for (const check of [...checks, ...extra]) results.push(await check(input, loaded))
  return results
}
