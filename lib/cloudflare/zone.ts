// Zone checks: the zone settings that matter for a tunnel-fronted platform, and the rules that could cache or rewrite
// routed hosts' API paths, each judged by one stance (evaluateSettings, evaluateRules). Pure evaluation plus the reads
// and fixes over a session; no env reads.
import type { PageRule, Ruleset, ZoneSetting } from './client.ts'
import type { Session } from './session.ts'

export const SETTINGS = ['ssl', 'ssl_automatic_mode', 'always_use_https', 'min_tls_version', 'security_level'] as const
export type SettingName = (typeof SETTINGS)[number]
export const RULE_PHASES = ['http_request_cache_settings', 'http_request_late_transform', 'http_request_transform', 'http_response_headers_transform'] as const

export type Level = 'ok' | 'info' | 'warn' | 'fail'

export interface ZoneFinding {
  id: string
  level: Level
  value?: unknown
  message: string
  /** the stance's reason, shown beside the finding */
  why?: string
  /** a value the stance says is safe to set (applied by --fix) */
  fix?: { setting: SettingName; value: string }
}

export interface ZoneState {
  settings: Partial<Record<SettingName, ZoneSetting | undefined>>
  pageRules: PageRule[]
  rulesets: Ruleset[]
  /** areas that could not be read (missing permission), with the reason */
  unreadable: string[]
}

/**
 * The stance on the zone's settings:
 *   - `ssl` is never changed automatically. Tunnel hostnames do not use it (the edge reaches cloudflared through the
 *     tunnel; cloudflared reaches http://caddy:80 per the ingress), and the value is zone-wide, so changing it can break
 *     other origins in the zone. `off` fails (no HTTPS at the edge); `flexible` is a warning; `full`/`strict` are fine.
 *   - `ssl_automatic_mode` is reported: in `auto` Cloudflare may change `ssl` by itself.
 *   - `always_use_https` should be `on`, `min_tls_version` at least 1.2, `security_level` not `high`/`under_attack`
 *     (challenges break API and CLI clients): each fixable by --fix.
 */
export function evaluateSettings(settings: ZoneState['settings']): ZoneFinding[] {
  const out: ZoneFinding[] = []
  const value = (n: SettingName) => settings[n]?.value
  const editable = (n: SettingName) => settings[n]?.editable !== false
  const ssl = value('ssl')
  if (ssl !== undefined) {
    const why = 'tunnel hostnames do not use the zone SSL mode; it matters for other origins in the zone, so Stackyard never changes it'
    if (ssl === 'off') out.push({ id: 'ssl', level: 'fail', value: ssl, message: 'SSL is off: Cloudflare serves no HTTPS for this zone, so https:// hostnames fail', why: 'set SSL/TLS to Full (strict) in the dashboard' })
    else if (ssl === 'flexible') out.push({ id: 'ssl', level: 'warn', value: ssl, message: 'SSL is flexible: the edge talks plain HTTP to any non-tunnel origin in this zone', why: `${why}; prefer Full (strict) for those origins` })
    else out.push({ id: 'ssl', level: 'ok', value: ssl, message: `SSL mode ${ssl === 'strict' ? 'Full (strict)' : String(ssl)}`, why })
  }
  const auto = value('ssl_automatic_mode')
  if (auto !== undefined)
    out.push({ id: 'ssl_automatic_mode', level: 'info', value: auto, message: auto === 'auto' ? 'automatic SSL mode is on: Cloudflare may change the SSL mode by itself' : 'SSL mode is set by hand (custom)' })
  const https = value('always_use_https')
  if (https !== undefined) {
    if (https === 'on') out.push({ id: 'always_use_https', level: 'ok', value: https, message: 'Always Use HTTPS is on' })
    else
      out.push({
        id: 'always_use_https',
        level: 'warn',
        value: https,
        message: 'Always Use HTTPS is off: http:// visitors are not redirected, and apps that build https:// URLs (SITE_URL) loop on logins',
        fix: editable('always_use_https') ? { setting: 'always_use_https', value: 'on' } : undefined,
      })
  }
  const tls = value('min_tls_version')
  if (tls !== undefined) {
    if (typeof tls === 'string' && Number(tls) < 1.2)
      out.push({ id: 'min_tls_version', level: 'warn', value: tls, message: `minimum TLS version ${tls} allows deprecated protocols`, fix: editable('min_tls_version') ? { setting: 'min_tls_version', value: '1.2' } : undefined })
    else out.push({ id: 'min_tls_version', level: 'ok', value: tls, message: `minimum TLS version ${String(tls)}` })
  }
  const sec = value('security_level')
  if (sec !== undefined) {
    if (sec === 'high' || sec === 'under_attack')
      out.push({
        id: 'security_level',
        level: 'warn',
        value: sec,
        message: `security level ${String(sec)}: visitors get challenges, which API and CLI clients (Infisical CLI, webhooks) cannot pass`,
        fix: editable('security_level') ? { setting: 'security_level', value: 'medium' } : undefined,
      })
    else out.push({ id: 'security_level', level: 'ok', value: sec, message: `security level ${String(sec)}` })
  }
  return out
}

/** Could a rule's expression apply to this host? (It names the host, or does not restrict hosts at all.) */
function exprTouches(expression: string, hosts: readonly string[]): string[] {
  const e = expression.toLowerCase()
  if (!/http\.host|full_uri/.test(e)) return [...hosts]
  return hosts.filter((h) => e.includes(h))
}

/** Does a page rule's URL pattern cover the host? ("*example.com/*", "app.example.com/api/*") */
function patternTouches(pattern: string, host: string): boolean {
  const hostPart = pattern.replace(/^https?:\/\//, '').split('/')[0].toLowerCase()
  const re = new RegExp(`^${hostPart.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return re.test(host)
}

export function evaluateRules(state: Pick<ZoneState, 'pageRules' | 'rulesets'>, hosts: readonly string[]): ZoneFinding[] {
  const out: ZoneFinding[] = []
  for (const r of state.pageRules) {
    if (r.status && r.status !== 'active') continue
    const cacheEverything = r.actions.some((a) => a.id === 'cache_level' && a.value === 'cache_everything')
    const edgeTtl = r.actions.some((a) => a.id === 'edge_cache_ttl')
    if (!cacheEverything && !edgeTtl) continue
    for (const t of r.targets) {
      const touched = hosts.filter((h) => patternTouches(t.constraint.value, h))
      if (touched.length)
        out.push({ id: `pagerule:${r.id}`, level: 'warn', message: `page rule "${t.constraint.value}" caches everything it matches, including ${touched.join(', ')}: API responses may be cached`, why: 'exclude API paths (cache level bypass) or narrow the rule' })
    }
  }
  for (const rs of state.rulesets) {
    for (const rule of rs.rules ?? []) {
      if (rule.enabled === false) continue
      const touched = exprTouches(rule.expression ?? '', hosts)
      if (!touched.length) continue
      const label = `${rs.phase ?? rs.name ?? 'ruleset'} rule "${rule.description || rule.id || rule.expression}"`
      if (rs.phase === 'http_request_cache_settings' && rule.action === 'set_cache_settings' && rule.action_parameters?.cache === true)
        out.push({ id: `ruleset:${rule.id ?? label}`, level: 'warn', message: `${label} makes responses cacheable for ${touched.join(', ')}`, why: 'API responses (e.g. Infisical /api/*) must not be cached: add a bypass rule before it' })
      if (rs.phase !== 'http_request_cache_settings' && JSON.stringify(rule.action_parameters ?? {}).toLowerCase().includes('content-type'))
        out.push({ id: `ruleset:${rule.id ?? label}`, level: 'warn', message: `${label} rewrites Content-Type for ${touched.join(', ')}`, why: 'a forced Content-Type on API responses breaks Infisical logins' })
    }
  }
  return out
}

export async function readZone(s: Session, zoneId: string): Promise<ZoneState> {
  const state: ZoneState = { settings: {}, pageRules: [], rulesets: [], unreadable: [] }
  for (const name of SETTINGS) {
    try {
      state.settings[name] = await s.cf.zoneSetting(zoneId, name)
    } catch (err) {
      if (name === 'ssl_automatic_mode' || name === 'min_tls_version') state.unreadable.push(`${name}: ${(err as Error).message}`)
      else throw err
    }
  }
  try {
    state.pageRules = await s.cf.pageRules(zoneId)
  } catch (err) {
    state.unreadable.push(`page rules: ${(err as Error).message}`)
  }
  for (const phase of RULE_PHASES) {
    try {
      const rs = await s.cf.phaseEntrypoint(zoneId, phase)
      if (rs) state.rulesets.push({ ...rs, phase: rs.phase ?? phase })
    } catch (err) {
      state.unreadable.push(`${phase} rules: ${(err as Error).message}`)
    }
  }
  return state
}

/** PATCHes the settings the stance may change; returns the number of writes. */
export async function applyZoneFixes(s: Session, zoneId: string, findings: readonly ZoneFinding[]): Promise<number> {
  let n = 0
  for (const f of findings) {
    if (!f.fix) continue
    await s.cf.patchZoneSetting(zoneId, f.fix.setting, f.fix.value)
    n++
  }
  return n
}
