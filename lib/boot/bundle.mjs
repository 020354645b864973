// A task compiled to one cached ES module, rebuilt whenever one of its sources or the installed packages
// changed: so no build step to remember and no stale code. Plain JavaScript: it runs before any TypeScript can.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { TARGET, cacheDir, esbuild as loadEsbuild, readOr, sha1, writeWhole } from './compile.mjs'

/** Raise when the build below changes: every cached bundle is then rebuilt. */
const FORMAT = 2
/** Inlined (one file to load instead of hundreds); every other package stays an import, loaded by Node as usual. */
const INLINE = ['zod', 'yaml']
/** Where the root of the running copy is kept for the bundle (see `import.meta` below). */
export const BOOT = Symbol.for('stackyard.boot')

/**
 * The path of an up-to-date bundle of `entry` (a file under `root`), built now if none is. Sources are compared by
 * content, packages by npm's record of what is installed. A bundle's file is named by what it was built from and never
 * rewritten, so a run always executes the very bundle it checked, whatever other runs build meanwhile.
 */
export async function freshBundle(root, entry) {
  const dir = cacheDir(root)
  const name = relative(root, entry).split(sep).join('__')
  const installed = sha1(readOr(join(root, 'node_modules', '.package-lock.json'), readOr(join(root, 'package-lock.json'), '')))
  const index = join(dir, `${name}.json`)
  let last
  try {
    last = JSON.parse(readFileSync(index, 'utf8'))
  } catch {}
  if (last && isCurrent(root, last.stamp, installed)) {
    try {
      const now = new Date()
      utimesSync(join(dir, last.bundle), now, now) // in use: see removeOld
      return join(dir, last.bundle)
    } catch {} // removed meanwhile: built again below
  }
  const built = await build(root, entry, dir, name, installed)
  try {
    writeWhole(index, JSON.stringify(built))
  } catch {} // not kept: the next run builds it again
  return join(dir, built.bundle)
}

/** The bundle was built but cannot be kept: the cache folder cannot be written. */
export class CacheUnwritable extends Error {}

function isCurrent(root, stamp, installed) {
  if (stamp?.format !== FORMAT || stamp.installed !== installed) return false
  for (const [file, hash] of Object.entries(stamp.sources)) if (sha1(readOr(join(root, file), '')) !== hash) return false
  return true
}

/**
 * Bundles with esbuild (loaded only here). Each module's `import.meta` becomes its own path under the
 * root of the copy that runs it, so a bundle serves every copy of the repository with the same sources.
 */
async function build(root, entry, dir, name, installed) {
  const esbuild = await loadEsbuild()
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const external = Object.keys({ ...packageJson.dependencies, ...packageJson.devDependencies }).filter((p) => !INLINE.includes(p))
  const ownPath = {
    name: 'own-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const file = relative(root, args.path).split(sep).join('/')
        if (file.startsWith('node_modules/') || file.startsWith('../')) return undefined
        const meta = `__stackyardMeta(${JSON.stringify(file)})`
        return { contents: readFileSync(args.path, 'utf8').replace(/\bimport\.meta\b/g, meta), loader: /\.[cm]?ts$/.test(file) ? 'ts' : 'js' }
      })
    },
  }
  // zod's namespace re-exports every language's messages; Stackyard's are English (zod's default, kept)
  const englishOnly = {
    name: 'zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined))
      b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {}', loader: 'js' }))
    },
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: TARGET,
    outfile: join(dir, `${name}.mjs`),
    write: false,
    external,
    plugins: [ownPath, englishOnly],
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'silent',
    banner: { js: BANNER },
  }).catch((err) => {
    throw new Error(`${relative(root, entry)} does not compile:\n${(err.errors ?? []).map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : ''}${e.text}`).join('\n') || err.message}`)
  })
  // what the bundle was built from: this repository's files by content, the packages through `installed`
  const sources = {}
  for (const file of Object.keys(result.metafile.inputs)) if (!file.startsWith('node_modules/') && !file.includes(':')) sources[file] = sha1(readFileSync(join(root, file)))
  const stamp = { format: FORMAT, installed, sources }
  const bundle = `${name}.${sha1(JSON.stringify(stamp)).slice(0, 16)}.mjs`
  try {
    mkdirSync(dir, { recursive: true })
    for (const file of result.outputFiles) {
      const text = file.path.endsWith('.map') ? file.text : file.text.replace(/(\/\/# sourceMappingURL=)\S+(\s*)$/, `$1${bundle}.map$2`)
      writeWhole(join(dir, file.path.endsWith('.map') ? `${bundle}.map` : bundle), text)
    }
  } catch (err) {
    throw new CacheUnwritable(`${dir}: ${err.message}`)
  }
  removeOld(dir, name, bundle)
  return { bundle, stamp }
}

/** Other bundles of the same entry, once no run can still be about to load them (unused for a minute). */
function removeOld(dir, name, keep) {
  for (const file of readdirSync(dir)) {
    if (!file.startsWith(`${name}.`) || file.startsWith(keep) || !/\.mjs(\.map)?$/.test(file)) continue
    try {
      if (Date.now() - statSync(join(dir, file)).mtimeMs > 60_000) rmSync(join(dir, file))
    } catch {}
  }
}

/** Runs first in every bundle: the script's own path back into process.argv, and `import.meta` per source file. */
const BANNER = `import { pathToFileURL as __stackyardUrl } from 'node:url';
import { join as __stackyardJoin, dirname as __stackyardDir } from 'node:path';
const __stackyardBoot = globalThis[Symbol.for('stackyard.boot')];
if (__stackyardBoot) process.argv[__stackyardBoot.index] = __stackyardBoot.script;
const __stackyardMeta = (file) => {
  const filename = __stackyardJoin(__stackyardBoot.root, file);
  return { filename, dirname: __stackyardDir(filename), url: __stackyardUrl(filename).href };
};`
