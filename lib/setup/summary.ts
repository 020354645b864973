// How the wizard shows a configuration: one line per answer (the current settings, the review). Pure.
import { table } from '../core/format.ts'
import type { Answers } from './context.ts'

const ENVIRONMENT: Record<string, string> = {
  private: 'private: http://localhost:<port>, on this machine only',
  public: 'public: https://<service>.<domain> through Cloudflare',
}
const CLOUDFLARE: Record<string, string> = {
  none: 'none (you connect the domain yourself)',
  'tunnel-token': 'an existing tunnel (its token); hostnames routed in the dashboard',
  'api-token': 'API token: tunnel, hostnames, DNS and Access set up by Stackyard',
}
const INFISICAL: Record<string, string> = {
  none: 'none (secrets stay in .env)',
  bundled: 'the bundled instance (started here)',
  external: 'an external instance',
}

export function renderSummary(a: Answers, allStacks: readonly string[]): string {
  const rows: string[][] = []
  const show = (label: string, value: string | undefined) => rows.push([label, value ?? '(not set)'])
  show('environment', a.environment && ENVIRONMENT[a.environment])
  if (a.environment === 'public') show('domain', a.domain)
  show('stacks', a.stacks && (a.stacks.length === allStacks.length ? `all (${a.stacks.join(', ')})` : a.stacks.join(', ')))
  show('hardware profile', a.profile)
  if (a.optional?.length) show('optional services', a.optional.join(', '))
  if (a.engine === 'swarm') show('engine', 'swarm (this swarm deploys the stacks)')
  if (a.environment === 'public') show('cloudflare', a.cloudflare && CLOUDFLARE[a.cloudflare])
  show('infisical', a.infisical && (a.infisical === 'external' && a.infisicalUrl ? `${INFISICAL.external}: ${a.infisicalUrl}` : INFISICAL[a.infisical]))
  return table(rows, { indent: '  ' })
}
