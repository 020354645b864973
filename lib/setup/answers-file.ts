// `--answers FILE`: the wizard's answers as YAML, one key per flag (same names), plus `secrets:` (KEY: value).
// Validated with zod; every error names the file and the field (ConfigError, exit 2). Reads the one file it is given.
import { statSync } from 'node:fs'
import { z } from 'zod'
import { readYamlFile } from '../core/yaml-file.ts'
import { ConfigError } from '../core/errors.ts'
import { ENGINES, ENVIRONMENTS, ENV_NAME, HARDWARE_PROFILES } from '../model/x-fields.ts'
import { CLOUDFLARE_MODES, INFISICAL_MODES, type Answers } from './context.ts'
import { domainProblem, emailDomainProblem, emailProblem, emailsProblem, urlProblem } from './validate.ts'

const text = z.union([z.string(), z.number()]).transform((v) => String(v).trim())
const checked = (problem: (v: string) => string | undefined) => text.superRefine((v, c) => {
  const p = problem(v)
  if (p) c.addIssue({ code: 'custom', message: p })
})
/** a list written as YAML sequence or as a comma-separated string */
const list = z.union([z.array(text), text]).transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))

export const AnswersFile = z.strictObject({
  environment: z.enum(ENVIRONMENTS).optional(),
  domain: checked(domainProblem).transform((v) => v.toLowerCase()).optional(),
  stacks: list.optional(),
  optional: list.optional(),
  profile: z.enum(HARDWARE_PROFILES).optional(),
  engine: z.enum(ENGINES).optional(),
  cloudflare: z.enum(CLOUDFLARE_MODES).optional(),
  'access-emails': list.transform((v) => v.join(',')).superRefine((v, c) => {
    const p = emailsProblem(v)
    if (p) c.addIssue({ code: 'custom', message: p })
  }).optional(),
  'access-email-domain': checked(emailDomainProblem).optional(),
  infisical: z.enum(INFISICAL_MODES).optional(),
  'infisical-url': checked(urlProblem).optional(),
  'infisical-client-id': text.optional(),
  'infisical-project-id': text.optional(),
  'infisical-email': checked(emailProblem).optional(),
  rotate: list.optional(),
  /** tokens and passwords, by variable name (CLOUDFLARE_API_TOKEN, INFISICAL_CLIENT_SECRET, INFISICAL_ADMIN_PASSWORD…) */
  secrets: z.record(z.string().regex(ENV_NAME, 'a variable name'), text).optional(),
})
export type AnswersFile = z.infer<typeof AnswersFile>

export interface LoadedAnswers {
  answers: Answers
  secrets: Record<string, string>
  warnings: string[]
}

/** Reads and validates an answers file; `shown` is how the path is named in messages. */
export function loadAnswersFile(path: string, shown: string): LoadedAnswers {
  const { doc, lines, data } = readYamlFile(path, shown, { hint: 'fix the YAML syntax (see README "Setup" for an example)', readHint: 'check the path given to --answers', cannotRead: (code) => `${shown}: cannot read the answers file (${code})` })
  const r = AnswersFile.safeParse(data ?? {})
  if (!r.success) {
    const issue = r.error.issues[0]
    const unknown = issue.code === 'unrecognized_keys'
    const path = unknown ? [...issue.path, issue.keys[0]] : issue.path
    const field = path.map(String).join('.') || '(root)'
    const node = doc.getIn(path as unknown[], true) as { range?: [number, number, number] } | undefined
    const line = node?.range ? lines.linePos(node.range[0]).line : undefined
    const message = unknown ? 'unknown field' : issue.message
    throw new ConfigError(`${shown}${line ? `:${line}` : ''}: ${field}: ${message}`, { file: shown, line, field, hint: `the fields are the wizard's flag names: ${Object.keys(AnswersFile.shape).join(', ')}` })
  }
  const f = r.data
  const warnings: string[] = []
  if (f.secrets && Object.keys(f.secrets).length) {
    const mode = statSync(path).mode & 0o777
    if (mode & 0o077) warnings.push(`${shown} holds secrets and other users can read it (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${shown}`)
  }
  const answers: Answers = {
    environment: f.environment,
    domain: f.domain,
    stacks: f.stacks,
    optional: f.optional?.filter((p) => p !== 'none'),
    profile: f.profile,
    engine: f.engine,
    cloudflare: f.cloudflare,
    accessEmails: f['access-emails'],
    accessEmailDomain: f['access-email-domain'],
    infisical: f.infisical,
    infisicalUrl: f['infisical-url'],
    infisicalClientId: f['infisical-client-id'],
    infisicalProjectId: f['infisical-project-id'],
    infisicalEmail: f['infisical-email'],
    rotate: f.rotate,
  }
  return { answers, secrets: f.secrets ?? {}, warnings }
}
