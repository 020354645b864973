// Inputs that used to crash or hang (issue 14): YAML alias bombs and oversized YAML in compose and answers files,
// x-secrets patterns that do not compile or could backtrack for ever, env, compose and answers files and --out paths
// that are not what they claim (a FIFO, a device, /proc, /dev, a path under a file), a non-HTTP Infisical URL and two
// routes on one local port. Each must be refused with exit 2 and one sentence that names the file (and line) or the
// flag, without hanging.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../../helpers/repo.ts'
import type { HostileCase } from '../case.ts'
import type { TempRepo } from '../../helpers/repo.ts'

const APPS = 'compose/03-apps/docker-compose.yml'
const apps = () => readFileSync(join(REPO, APPS), 'utf8')
/** nine levels of nine aliases each: 9^9 nodes once expanded */
const BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((k, i) => {
  const p = 'abcdefghi'[i]
  return `${k}: &${k} [*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p}]`
})].join('\n')
const withBomb = () => apps().replace(/^x-stackyard:/m, `x-lol:\n${BOMB.split('\n').map((l) => `  ${l}`).join('\n')}\n\nx-stackyard:`)
/** apps' compose file with one more external secret, declared with `pattern` */
const withPattern = (pattern: string) => apps().replace(/^x-secrets:\n/m, `x-secrets:\n  HOSTILE_TOKEN:\n    format: external\n    description: a token\n    pattern: ${JSON.stringify(pattern)}\n`)
const IDENTITY = 'INFISICAL_CLIENT_ID=id-1\nINFISICAL_CLIENT_SECRET=secret-1\nINFISICAL_PROJECT_ID=project-1\n'
/** a stack whose route takes the local port of Infisical's (8020) */
const CLASH = 'name: extra\nx-stackyard:\n  description: a stack whose route reuses a port\nservices:\n  web:\n    image: nginx:1.27\n    x-route: { subdomain: web, port: 80, local_port: 8020 }\n'
const fifo = (rel: string) => (repo: TempRepo) => {
  rmSync(join(repo.root, rel), { force: true })
  execFileSync('mkfifo', [join(repo.root, rel)])
}

export const cases: HostileCase[] = [
  { name: 'inputs: a YAML alias bomb in a compose file', task: 'up.ts', args: ['--dry-run'], files: { [APPS]: withBomb() }, timeoutMs: 20_000, expect: { code: 2, message: /compose\/03-apps\/docker-compose\.yml:\d+: .*alias/i } },
  { name: 'inputs: a compose file over the size limit', task: 'up.ts', args: ['--dry-run'], files: { [APPS]: apps() + `\nx-padding: "${'x'.repeat(2 * 1024 * 1024)}"\n` }, expect: { code: 2, message: /compose\/03-apps\/docker-compose\.yml: .*too large/i } },
  { name: 'inputs: a YAML alias bomb in the answers file', task: 'setup.ts', args: ['--answers', 'answers.yml', '--dry-run'], files: { 'answers.yml': BOMB + '\n' }, timeoutMs: 20_000, expect: { code: 2, message: /answers\.yml:\d+: .*alias/i } },
  { name: 'inputs: an answers file over the size limit', task: 'setup.ts', args: ['--answers', 'answers.yml', '--dry-run'], files: { 'answers.yml': `domain: "${'x'.repeat(2 * 1024 * 1024)}"\n` }, expect: { code: 2, message: /answers\.yml: .*too large/i } },
  { name: 'inputs: an x-secrets pattern that does not compile', task: 'setup.ts', args: ['--yes', '--no-start'], files: { [APPS]: withPattern('('), '.env': 'HOSTILE_TOKEN=abc\n' }, expect: { code: 2, message: /compose\/03-apps\/docker-compose\.yml:\d+: .*pattern/ } },
  { name: 'inputs: a catastrophic x-secrets pattern (nested quantifiers)', task: 'setup.ts', args: ['--yes', '--no-start'], files: { [APPS]: withPattern('^(a+)+$'), '.env': `HOSTILE_TOKEN=${'a'.repeat(40)}!\n` }, timeoutMs: 20_000, expect: { code: 2, message: /compose\/03-apps\/docker-compose\.yml:\d+: .*pattern.*nested/ } },
  { name: 'inputs: .env is a FIFO (no writer: must not hang)', task: 'env.ts', setup: fifo('.env'), unchanged: ['.env'], timeoutMs: 20_000, expect: { code: 2, message: /^✖ \.env: not a regular file \(it is a FIFO\)/ } },
  { name: 'inputs: .env.global is a FIFO (no writer: must not hang)', task: 'status.ts', setup: fifo('.env.global'), unchanged: ['.env.global'], timeoutMs: 20_000, expect: { code: 2, message: /^✖ \.env\.global: not a regular file \(it is a FIFO\)/ } },
  { name: 'inputs: backup --out under /proc', task: 'backup.ts', args: ['--out', '/proc/x'], timeoutMs: 20_000, expect: { code: 2, message: /--out.*\/proc\/x/ } },
  { name: 'inputs: backup --out below a file', task: 'backup.ts', args: ['--out', 'package.json/sub'], unchanged: ['package.json'], expect: { code: 2, message: /--out.*package\.json.*not a directory/ } },
  { name: 'inputs: an ftp:// INFISICAL_API_URL (status)', task: '00-infrastructure/infisical/status.ts', files: { '.env': IDENTITY }, env: { INFISICAL_API_URL: 'ftp://x' }, expect: { code: 2, message: /^✖ INFISICAL_API_URL: "ftp:\/\/x" is not an http\(s\) URL/ } },
  { name: 'inputs: an ftp:// INFISICAL_API_URL (push)', task: '00-infrastructure/infisical/push.ts', files: { '.env': IDENTITY }, env: { INFISICAL_API_URL: 'ftp://x' }, expect: { code: 2, message: /^✖ INFISICAL_API_URL: "ftp:\/\/x" is not an http\(s\) URL/ } },
  { name: 'inputs: INFISICAL_API_URL that is not a URL (pull)', task: '00-infrastructure/infisical/pull.ts', files: { '.env': IDENTITY }, env: { INFISICAL_API_URL: 'not a url' }, expect: { code: 2, message: /^✖ INFISICAL_API_URL: "not a url" is not an http\(s\) URL/ } },
  { name: 'inputs: two routes on one local_port (up --dry-run)', task: 'up.ts', args: ['--dry-run'], files: { 'compose/05-extra/docker-compose.yml': CLASH }, expect: { code: 2, message: /^✖ compose\/05-extra\/docker-compose\.yml:7: services\.web\.x-route\.local_port: 8020 is already claimed by services\.infisical-backend\.x-route\.local_port \(compose\/00-infrastructure\/docker-compose\.yml:\d+\)$/ } },
  { name: 'inputs: the answers file is a FIFO (no writer: must not hang)', task: 'setup.ts', args: ['--answers', 'answers.yml', '--dry-run'], setup: fifo('answers.yml'), unchanged: ['answers.yml'], timeoutMs: 20_000, expect: { code: 2, message: /^✖ answers\.yml is not a regular file \(it is a FIFO\)$/ } },
  { name: 'inputs: a compose override file that is a FIFO (no writer: must not hang)', task: 'up.ts', args: ['--dry-run'], setup: fifo('compose/03-apps/docker-compose.override.private.yml'), unchanged: ['compose/03-apps/docker-compose.override.private.yml'], timeoutMs: 20_000, expect: { code: 2, message: /^✖ compose\/03-apps\/docker-compose\.override\.private\.yml is not a regular file \(it is a FIFO\)$/ } },
  { name: 'inputs: .env is a symlink to /dev/zero (never ends)', task: 'env.ts', setup: (repo) => { symlinkSync('/dev/zero', join(repo.root, '.env')) }, unchanged: ['.env'], timeoutMs: 20_000, expect: { code: 2, message: /^✖ \.env: not a regular file \(it is a device\)/ } },
  { name: 'inputs: backup --out /dev/null', task: 'backup.ts', args: ['--out', '/dev/null'], expect: { code: 2, message: /^✖ --out \/dev\/null: \/dev is a kernel file system/ } },
  { name: 'inputs: backup --out an existing file', task: 'backup.ts', args: ['--out', 'package.json'], unchanged: ['package.json'], expect: { code: 2, message: /^✖ --out package\.json: package\.json is not a directory \(it is a file\)$/ } },
]
