// Builds the stand-in images the real tier runs, from Debian packages, tagged with exactly the names the compose
// files pin (read from the registry, so a new pin follows) and labelled as stand-ins. One base root (base.sh) is the
// only big layer; each image adds its entrypoint and metadata with the legacy builder (offline). Skips every image
// already built from the same recipe (base.sh and packages.txt for the root, plus its own folder per image).
// Needs a running engine and root (debootstrap).
// Usage: node --import=#boot test/standins/build.ts [--force]
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { loadRegistry } from '../../lib/model/registry.ts'
import { HELPER_IMAGE } from '../../lib/backup/methods.ts'

const HERE = import.meta.dirname
const ROOT = resolve(HERE, '..', '..')
export const RECIPE_LABEL = 'org.stackyard.standin.recipe'
/** the registry the update tests push to and pull from (Debian's docker-registry); no compose service uses it */
export const REGISTRY_IMAGE = 'stackyard-standin/registry:2.8'

/** Which stand-in (a folder here) serves which image: compose services by stack/service, or a fixed reference. */
const STANDINS: Array<{ dir: string; services?: string[]; images?: string[] }> = [
  { dir: 'caddy', services: ['infrastructure/caddy'] },
  { dir: 'valkey', services: ['infrastructure/valkey'] },
  { dir: 'redis', services: ['infrastructure/infisical-redis'] },
  { dir: 'postgres', services: ['data/postgres', 'infrastructure/infisical-db'] },
  { dir: 'ollama', services: ['compute/ollama-cpu'] },
  { dir: 'helper', images: [HELPER_IMAGE] },
  { dir: 'registry', images: [REGISTRY_IMAGE] },
]

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]))
}

function hashFiles(paths: string[], seed = ''): string {
  const h = createHash('sha256').update(seed)
  for (const f of paths) {
    h.update(relative(HERE, f) + '\0' + (statSync(f).mode & 0o111 ? 'x' : '-') + '\0')
    h.update(readFileSync(f))
  }
  return h.digest('hex').slice(0, 16)
}

/** the base root's recipe: base.sh and packages.txt */
export const baseHash = () => hashFiles([join(HERE, 'base.sh'), join(HERE, 'packages.txt')])
/** one stand-in's recipe: the base's, plus its folder */
export const imageHash = (dir: string) => hashFiles(files(join(HERE, dir)), baseHash())

/** every image reference the stand-ins answer to, with its folder */
export function standinImages(root = ROOT): Array<{ dir: string; tags: string[] }> {
  const registry = loadRegistry(root)
  return STANDINS.map((s) => ({
    dir: s.dir,
    tags: [
      ...(s.images ?? []),
      ...(s.services ?? []).map((ref) => {
        const [stack, service] = ref.split('/')
        const svc = registry.stacks.find((st) => st.name === stack)?.services.find((x) => x.name === service)
        if (!svc?.image) throw new Error(`stand-ins: ${ref} is not a service with an image in compose/`)
        return svc.image
      }),
    ],
  }))
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr ?? '').trim().split('\n').slice(-8).join('\n')}`)
  return String(r.stdout ?? '')
}

const labelOf = (image: string) => {
  const r = spawnSync('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, image], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** the images that are missing or were built from another recipe */
export function missingImages(): string[] {
  return standinImages().flatMap((s) => s.tags.filter((t) => labelOf(t) !== imageHash(s.dir)))
}

export function build(force = false): void {
  const hash = baseHash()
  const images = standinImages()
  const todo = images.filter((s) => force || s.tags.some((t) => labelOf(t) !== imageHash(s.dir)))
  if (!todo.length) {
    console.error(`stand-ins: all ${images.length} up to date (base recipe ${hash})`)
    return
  }
  const base = `stackyard-standin-base:${hash}`
  if (force || labelOf(base) !== hash) {
    const t0 = Date.now()
    const work = mkdtempSync(join(tmpdir(), 'stackyard-standins-'))
    try {
      const tar = join(work, 'root.tar')
      const fd = openSync(tar, 'w')
      const r = spawnSync('bash', [join(HERE, 'base.sh'), work], { stdio: ['ignore', fd, 'inherit'] })
      closeSync(fd)
      if (r.status !== 0) throw new Error(`stand-ins: base.sh failed (exit ${r.status})`)
      run('docker', ['import', '--change', `LABEL ${RECIPE_LABEL}=${hash}`, '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--message', 'Stackyard stand-in base (Debian trixie), not an official image', tar, base])
    } finally {
      spawnSync('sh', ['-c', `for m in "$1/root/dev" "$1/root/proc"; do mountpoint -q "$m" && umount -l "$m"; done; true`, 'sh', work])
      rmSync(work, { recursive: true, force: true })
    }
    console.error(`stand-ins: base ${base} built in ${Math.round((Date.now() - t0) / 1000)}s`)
  }
  for (const s of todo) {
    const args = ['build', '-q', '--build-arg', `BASE=${base}`, '--label', `${RECIPE_LABEL}=${imageHash(s.dir)}`, ...s.tags.flatMap((t) => ['-t', t]), join(HERE, s.dir)]
    run('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' } })
    console.error(`stand-ins: ${s.dir} → ${s.tags.join(', ')}`)
  }
  // earlier bases are no longer referenced by any tag we keep
  for (const line of run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'stackyard-standin-base']).split('\n').filter(Boolean))
    if (line !== base) spawnSync('docker', ['image', 'rm', line], { stdio: 'ignore' })
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    build(process.argv.includes('--force'))
  } catch (e) {
    console.error((e as Error).message)
    process.exitCode = 1
  }
}
