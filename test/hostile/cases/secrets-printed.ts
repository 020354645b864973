// Secrets that tasks must never print: values of .env and .env.infisical shown by env.ts, and the text of an env file
// or of --secrets-stdin that does not parse (a parse error names file:line:column and what was expected, not the text).
import type { HostileCase } from '../case.ts'

const PASSPHRASE = 'correct horse battery staple 42'
const NEXT = 'redis-valid-secret-99'
const SMTP = 'x-smtp-pass-4f2a9c'
const TOKEN = 'tok-X7f3c9e1b2'
const IDENTITY = 'INFISICAL_CLIENT_ID=cid-4d1e8a\nINFISICAL_CLIENT_SECRET=csec-5b0f2e7c\nINFISICAL_PROJECT_ID=proj-9a7b6c\n'
/** A .env whose passphrase line lacks its closing quote; the next line's opening quote closes it. */
const UNCLOSED = `STACKYARD_BACKUP_PASSPHRASE="${PASSPHRASE}\nREDIS_PASSWORD="${NEXT}"\n`
const unclosedMessage = /^✖ \.env:1:29: unterminated quoted value: the " opened here is not closed on line 1/

export const cases: HostileCase[] = [
  {
    name: 'env.ts: the backup passphrase in .env is masked',
    task: 'env.ts',
    files: { '.env': `STACKYARD_BACKUP_PASSPHRASE="${PASSPHRASE}"\n` },
    expect: { code: 0, message: /^$/ },
    secrets: [PASSPHRASE, 'correct horse'],
  },
  {
    name: 'env.ts --json: the backup passphrase in .env is masked',
    task: 'env.ts',
    args: ['--json'],
    files: { '.env': `STACKYARD_BACKUP_PASSPHRASE="${PASSPHRASE}"\n` },
    expect: { code: 0, message: /^$/ },
    secrets: [PASSPHRASE, 'correct horse'],
  },
  {
    name: 'env.ts: a value of .env.infisical whose name does not look secret is masked',
    task: 'env.ts',
    files: { '.env': IDENTITY, '.env.infisical': `SMTP_PASS="${SMTP}"\nMAIL_RELAY_LOGIN="relay-login-7e3d"\n` },
    expect: { code: 0, message: /^$/ },
    secrets: [SMTP, 'relay-login-7e3d', 'csec-5b0f2e7c', 'cid-4d1e8a'],
  },
  {
    name: 'env.ts: a .env value shadowed by the shell is masked too',
    task: 'env.ts',
    args: ['--show-layers', '--verbose'],
    files: { '.env': `SMTP_PASS="${SMTP}"\n` },
    env: { SMTP_PASS: 'shell-smtp-value-1' },
    expect: { code: 0, message: /^$/ },
    secrets: [SMTP, 'shell-smtp-value-1'],
  },
  {
    name: 'env.ts: an unclosed quote in .env is blamed on its line and prints neither value',
    task: 'env.ts',
    files: { '.env': UNCLOSED },
    expect: { code: 2, message: unclosedMessage },
    secrets: [PASSPHRASE, 'correct horse', NEXT, 'redis-valid'],
  },
  {
    name: 'doctor.ts: an unclosed quote in .env prints neither value',
    task: 'doctor.ts',
    files: { '.env': UNCLOSED },
    expect: { code: 1, message: /^$/ }, // doctor reports on stdout
    secrets: [PASSPHRASE, 'correct horse', NEXT, 'redis-valid'],
  },
  {
    name: 'status.ts: an unclosed quote in .env prints neither value',
    task: 'status.ts',
    files: { '.env': UNCLOSED },
    expect: { code: 2, message: unclosedMessage },
    secrets: [PASSPHRASE, 'correct horse', NEXT, 'redis-valid'],
  },
  {
    name: 'env.ts: an unclosed quote in .env.infisical prints no value',
    task: 'env.ts',
    files: { '.env': IDENTITY, '.env.infisical': `SMTP_PASS="${SMTP}\nOTHER="${NEXT}"\n` },
    expect: { code: 2, message: /^✖ \.env\.infisical:1:11: unterminated quoted value/ },
    secrets: [SMTP, NEXT, 'csec-5b0f2e7c'],
  },
  {
    name: 'env.ts: a key with a space in .env prints no value',
    task: 'env.ts',
    files: { '.env': `A=1\n${PASSPHRASE}=x\n` },
    expect: { code: 2, message: /^✖ \.env:2:8: key cannot contain a space/ },
    secrets: [PASSPHRASE, 'horse battery'],
  },
  {
    name: 'env.ts: an invalid template in .env prints no value',
    task: 'env.ts',
    files: { '.env': `B="pre-${PASSPHRASE}-\${a.b}"\n` },
    expect: { code: 2, message: /^✖ \.env:1:3: invalid \$\{…\} template/ },
    secrets: [PASSPHRASE, 'horse battery'],
  },
  {
    name: 'setup.ts --secrets-stdin: an unclosed quote names the stdin line and prints no value',
    task: 'setup.ts',
    args: ['--secrets-stdin', '--yes', '--no-start'],
    input: `CLOUDFLARE_API_TOKEN="${TOKEN}\n`,
    expect: { code: 2, message: /^✖ --secrets-stdin: stdin:1:22: unterminated quoted value/ },
    secrets: [TOKEN, 'tok-X7'],
    unchanged: ['.env'],
  },
  {
    name: 'setup.ts --secrets-stdin: an unclosed quote closed by the next line prints neither value',
    task: 'setup.ts',
    args: ['--secrets-stdin', '--yes', '--no-start'],
    input: `CLOUDFLARE_API_TOKEN="${TOKEN}\nINFISICAL_ADMIN_PASSWORD="${NEXT}"\n`,
    expect: { code: 2, message: /^✖ --secrets-stdin: stdin:1:22: unterminated quoted value: the " opened here is not closed on line 1/ },
    secrets: [TOKEN, 'tok-X7', NEXT, 'redis-valid'],
    unchanged: ['.env'],
  },
]
