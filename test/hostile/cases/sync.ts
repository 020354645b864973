// Hostile answers from an Infisical API (a loopback fake that otherwise follows the real server, test/fake-infisical.ts)
// and hostile local values, through push, pull, status, export and bootstrap: HTML or malformed bodies, error messages
// that echo credentials or carry terminal escapes, 413/429/5xx, dropped connections, hidden values, a bootstrap answer
// without its token, a value over the 1 MiB body limit. Each must end with one clear line and the right exit code,
// write no file, and print no secret.
import { startFakeInfisical, type FakeInfisical, type FakeInfisicalOptions } from '../../fake-infisical.ts'
import type { RecordedRequest, Reply } from '../../helpers/http-server.ts'
import type { HostileCase } from '../case.ts'
import type { TempRepo } from '../../helpers/repo.ts'

const CLIENT_SECRET = 'secret-1' // the fake's seeded identity
const VALUE = 'a-pushed-secret-value-91c4'

/** A case against its own fake Infisical: started by setup (with .env pointing at it), closed by teardown. */
function against(c: Omit<HostileCase, 'setup' | 'teardown' | 'task'> & { task: string; fake?: FakeInfisicalOptions; env?: Record<string, string>; envLines?: string[]; credentials?: boolean; inject?: (fake: FakeInfisical) => void }): HostileCase {
  let fake: FakeInfisical | undefined
  return {
    ...c,
    task: `00-infrastructure/infisical/${c.task}`,
    unchanged: c.unchanged ?? ['.env', '.env.infisical', '.stackyard'],
    secrets: [CLIENT_SECRET, ...(c.secrets ?? [])],
    async setup(repo: TempRepo) {
      fake = await startFakeInfisical(c.fake)
      const creds = c.credentials === false ? [] : [`INFISICAL_CLIENT_ID=${fake.clientId}`, `INFISICAL_CLIENT_SECRET=${fake.clientSecret}`, `INFISICAL_PROJECT_ID=${fake.projectId}`]
      repo.write('.env', [...creds, ...(c.envLines ?? [`CLOUDFLARE_API_TOKEN=${VALUE}`])].join('\n') + '\n', 0o600)
      c.inject?.(fake)
      return { INFISICAL_API_URL: fake.url, ...c.env }
    },
    async teardown() {
      await fake?.close()
    },
  }
}
const on = (method: string, path: string | RegExp) => (r: RecordedRequest) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))
const always = (fake: FakeInfisical, match: (r: RecordedRequest) => boolean, reply: Reply) => fake.server.inject(match, reply, 1000)
const LIST = '/api/v3/secrets/raw'
const BATCH = '/api/v3/secrets/batch/raw'

export const cases: HostileCase[] = [
  against({ name: 'sync: an HTML page instead of the secret list', task: 'push.ts', inject: (f) => always(f, on('GET', LIST), { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><script>alert(1)</script></html>' }), expect: { code: 1, message: /answered GET \/api\/v3\/secrets\/raw with text\/html instead of JSON/ } }),
  against({ name: 'sync: a secret list of the wrong shape', task: 'pull.ts', inject: (f) => always(f, on('GET', LIST), { status: 200, body: { secrets: 'not a list' } }), expect: { code: 1, message: /unexpected shape \(secrets: / } }),
  against({ name: 'sync: a secret list whose items lack their value', task: 'status.ts', inject: (f) => always(f, on('GET', LIST), { status: 200, body: { secrets: [{ secretKey: 'A' }] } }), expect: { code: 1, message: /unexpected shape \(secrets\.0\.secretValue/ } }),
  against({ name: 'sync: values the identity may list but not read', task: 'pull.ts', inject: (f) => always(f, on('GET', LIST), { status: 200, body: { secrets: [{ secretKey: 'A', secretValue: '<hidden-by-infisical>', secretValueHidden: true }] } }), expect: { code: 1, message: /may list but not read the values of 1 secret/ } }),
  against({ name: 'sync: a login answered without a token', task: 'status.ts', inject: (f) => always(f, on('POST', '/api/v1/auth/universal-auth/login'), { status: 200, body: { accessToken: '', expiresIn: 60 } }), expect: { code: 1, message: /universal-auth\/login with an unexpected shape \(accessToken/ } }),
  against({ name: 'sync: a login refusal that echoes the client secret', task: 'push.ts', inject: (f) => always(f, on('POST', '/api/v1/auth/universal-auth/login'), { status: 401, body: { statusCode: 401, error: 'UnauthorizedError', message: `invalid client secret ${CLIENT_SECRET}` } }), expect: { code: 1, message: /Infisical refused the machine identity credentials/ } }),
  against({ name: 'sync: an error message with terminal escapes', task: 'push.ts', secrets: ['\u001b', '\u0007'], inject: (f) => always(f, on('GET', LIST), { status: 400, body: { statusCode: 400, error: 'BadRequest\u001b[2J', message: 'Folder not found\u001b]0;owned\u0007\u001b[31m' } }), expect: { code: 1, message: /environment "dev" does not exist .*\\u001b\]0;owned\\u0007/ } }),
  against({ name: 'sync: 413 on a batch write', task: 'push.ts', inject: (f) => always(f, on('POST', BATCH), { status: 413, body: { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is too large' } }), expect: { code: 1, message: /refused POST \/api\/v3\/secrets\/batch\/raw as too large \(HTTP 413\): it accepts request bodies of at most 1048576 bytes/ }, secrets: [VALUE] }),
  against({ name: 'sync: 429 with a retry-after of an hour', task: 'status.ts', inject: (f) => always(f, on('GET', LIST), { status: 429, headers: { 'retry-after': '3600' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Rate limit exceeded' } }), expect: { code: 1, message: /keeps rate-limiting GET \/api\/v3\/secrets\/raw/ } }),
  against({ name: 'sync: a 500 with an HTML body on a write', task: 'push.ts', inject: (f) => always(f, on('POST', BATCH), { status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Gateway</h1>' }), expect: { code: 1, message: /instead of JSON \(HTTP 502\)/ }, secrets: [VALUE] }),
  against({ name: 'sync: the connection dropped on every list', task: 'status.ts', timeoutMs: 40_000, inject: (f) => always(f, on('GET', LIST), { drop: true }), expect: { code: 1, message: /Infisical is unreachable at http:\/\/127\.0\.0\.1:\d+ \(cannot reach/ } }),
  against({ name: 'sync: a value over the 1 MiB body limit', task: 'push.ts', envLines: ['INFISICAL_SYNC_INCLUDE=HUGE', `HUGE=${'h'.repeat(1024 * 1024)}`], expect: { code: 2, message: /HUGE is too large to push: Infisical refuses request bodies over 1048576 bytes \(1 MiB\)/ } }),
  against({ name: 'sync: a bootstrap answer without its admin token', task: 'bootstrap.ts', args: ['--email', 'admin@example.com', '--password-stdin'], input: 'a-very-long-admin-password\n', credentials: false, envLines: [], fake: { convention: 'upstream', seedIdentity: false, initialized: false }, secrets: ['a-very-long-admin-password'], inject: (f) => always(f, (r) => r.method === 'POST' && r.path === '/api/v1/admin/bootstrap' && typeof (r.body as { email?: unknown })?.email === 'string', { status: 200, body: { message: 'ok', organization: { id: 'org-x' }, identity: { id: 'id-x', credentials: {} } } }), expect: { code: 1, message: /admin\/bootstrap with an unexpected shape \(identity\.credentials\.token/ }, unchanged: ['.env', '.env.infisical'] }),
  // NO_COLOR is set for every run: any ESC byte in the output came from the server
  against({ name: 'sync: remote key names with terminal escapes (shown escaped in the plan table)', task: 'push.ts', secrets: ['\u001b', '\u0007'], inject: (f) => {
    always(f, on('GET', LIST), { status: 200, body: { secrets: [{ secretKey: 'EVIL\u001b]0;owned\u0007\u001b[2J', secretValue: 'x' }] } })
    always(f, on('POST', BATCH), { status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'down' } })
  }, expect: { code: 1, message: /failed on POST \/api\/v3\/secrets\/batch\/raw \(HTTP 503\)/ } }),
  against({ name: 'sync: an unknown environment slug the server lists as empty', task: 'pull.ts', env: { INFISICAL_ENVIRONMENT: 'no-such-env' }, expect: { code: 1, message: /environment "no-such-env" does not exist/ } }),
]
