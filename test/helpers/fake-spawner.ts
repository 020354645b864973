// How programs start for a task run in-process: a `docker` that resolves to the fake (test/fake-docker/docker, first
// on the run's PATH) is answered by the fake engine module in this process, as that script would answer; every other
// program is spawned as usual. Used by test/helpers/repo.ts; never by product code.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { spawnFiltered, spawnStreaming } from '../../lib/core/exec-stream.ts'
import { scope, type Spawner } from '../../lib/core/scope.ts'
import { dockerCall, type DockerCallAnswer as Answer } from '../fake-docker/engine.mjs'

const FAKE = join('test', 'fake-docker', 'docker')
const STDERR_KEEP = 64 * 1024

/** the file `cmd` starts, looked up on the run's PATH as spawn does; undefined when none is executable */
function resolveProgram(cmd: string, env: Record<string, string | undefined>): string | undefined {
  const executable = (f: string) => {
    try {
      accessSync(f, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  if (cmd.includes('/')) return executable(cmd) ? cmd : undefined
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && executable(join(dir, cmd))) return join(dir, cmd)
  return undefined
}

const isFakeDocker = (cmd: string, env: Record<string, string | undefined>) => resolveProgram(cmd, env)?.endsWith(`/${FAKE}`) ?? false

async function readAll(from: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of from) chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(chunks)
}

const call = (args: readonly string[], cwd: string | undefined, env: Record<string, string | undefined>, stdin: Buffer): Promise<Answer> =>
  dockerCall({ argv: [...args], cwd: cwd ?? scope().cwd, env, stdin })

export const fakeDockerSpawner: Spawner = {
  async streaming(cmd, args, o) {
    const env = o.env ?? scope().env
    if (!isFakeDocker(cmd, env)) return spawnStreaming(cmd, args, { ...o, cwd: o.cwd ?? scope().cwd })
    const stdin = o.stdin ? await readAll(o.stdin) : Buffer.from(o.input ?? '')
    const r = await call(args, o.cwd, env, stdin)
    if (o.stdout) await pipeline(Readable.from([r.stdout]), o.stdout)
    return { exitCode: r.code, stdout: o.stdout ? '' : r.stdout.toString('utf8'), stderr: r.stderr.slice(-STDERR_KEEP) }
  },
  async filtered(cmd, args, o) {
    const s = scope()
    const env = o.env ?? s.env
    if (!isFakeDocker(cmd, env)) return spawnFiltered(cmd, args, { ...o, cwd: o.cwd ?? s.cwd })
    // the child gets the run's stdin, as the spawned one inherits it (the script reads it unless it is a terminal)
    const stdin = s.stdin.isTTY ? Buffer.alloc(0) : await readAll(s.stdin)
    const r = await call(args, o.cwd, env, stdin)
    const write = (to: Writable, text: string) => text && to.write(o.filter(text))
    write(o.out ?? s.stdout, r.stdout.toString('utf8'))
    write(o.err ?? s.stderr, r.stderr)
    return r.code
  },
}
