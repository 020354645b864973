// The import graph of the product code (lib/ and tasks/, type-only imports included): no cycles; lib/'s folders are
// layers in the order lib/README.md lists them (a file imports its own folder and lower ones only); tasks import lib but
// never another task or a test; lib never imports a task or a test. Read from the sources, no module is loaded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = join(import.meta.dirname, '..')

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

/** relative module specifiers a file imports or re-exports, statically or with import() */
function relativeImports(text: string): string[] {
  const found = [...text.matchAll(/(?:^|[\n;])\s*(?:import|export)\s(?:[^'"`;]*?\sfrom\s)?\s*['"](\.{1,2}\/[^'"]+)['"]/g), ...text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)]
  return found.map((m) => m[1])
}

function graph(): Map<string, string[]> {
  const files = [...sources(join(root, 'lib')), ...sources(join(root, 'tasks'))]
  return new Map(files.map((f) => [relative(root, f), relativeImports(readFileSync(f, 'utf8')).map((s) => relative(root, resolve(dirname(f), s)))]))
}

/** strongly connected components of more than one file, or a file importing itself (Tarjan) */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        c.push(w)
      } while (w !== v)
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort())
    }
  }
  for (const v of g.keys()) if (!index.has(v)) visit(v)
  return out
}

test('the import reader sees static, type-only, multi-line, re-exported and dynamic imports', () => {
  const text = "import { a } from './a.ts'\nimport type { B } from '../b.ts'\nimport {\n  c,\n  d,\n} from './c.ts'\nexport { e } from './e.ts'\nconst f = await import('./f.ts')\nimport 'node:fs'\nimport x from 'zod'\n"
  assert.deepEqual(relativeImports(text), ['./a.ts', '../b.ts', './c.ts', './e.ts', './f.ts'])
})

test('the cycle finder finds a cycle when there is one', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])
  assert.deepEqual(cycles(g), [['a', 'b', 'c']])
})

test('lib/ and tasks/ have no import cycles', () => {
  assert.deepEqual(cycles(graph()), [])
})

test('tasks import lib/, lib/ imports neither a task nor a test, and nothing imports test code', () => {
  const wrong: string[] = []
  for (const [file, deps] of graph()) {
    for (const d of deps) {
      if (d.startsWith('test/') || d.endsWith('.test.ts')) wrong.push(`${file} → ${d}`)
      else if (d.startsWith('tasks/')) wrong.push(`${file} → ${d}`)
    }
  }
  assert.deepEqual(wrong, [])
})

/** folder → floor, from the list between `<!-- layers -->` and `<!-- /layers -->` in lib/README.md */
function floors(): Map<string, number> {
  const text = readFileSync(join(root, 'lib', 'README.md'), 'utf8')
  const list = /<!-- layers -->([\s\S]*?)<!-- \/layers -->/.exec(text)
  assert.ok(list, 'lib/README.md lists the layers between <!-- layers --> and <!-- /layers -->')
  const out = new Map<string, number>()
  for (const m of list[1].matchAll(/^\s*(\d+)\.\s*(.+)$/gm)) for (const name of m[2].split(',')) out.set(name.trim(), Number(m[1]))
  return out
}

/** the lib/ folder a file belongs to, or undefined outside lib/ */
const folderOf = (file: string) => /^lib\/([^/]+)\//.exec(file)?.[1]

/** imports that go up a floor or sideways to another folder of the same floor */
function layerViolations(g: Map<string, string[]>, floor: Map<string, number>): string[] {
  const wrong: string[] = []
  for (const [file, deps] of g) {
    const from = folderOf(file)
    if (from === undefined) continue
    for (const d of deps) {
      const to = folderOf(d)
      if (to === undefined || to === from) continue
      if (floor.get(to)! >= floor.get(from)!) wrong.push(`${file} → ${d} (${from} is on floor ${floor.get(from)}, ${to} on ${floor.get(to)})`)
    }
  }
  return wrong
}

test('the layer check finds an import that goes up or sideways', () => {
  const floor = new Map([['core', 1], ['model', 2], ['caddy', 3], ['cloudflare', 3]])
  const g = new Map([['lib/model/a.ts', ['lib/core/b.ts', 'lib/caddy/c.ts']], ['lib/caddy/c.ts', ['lib/cloudflare/d.ts', 'lib/caddy/e.ts']]])
  assert.deepEqual(layerViolations(g, floor).map((v) => v.split(' (')[0]), ['lib/model/a.ts → lib/caddy/c.ts', 'lib/caddy/c.ts → lib/cloudflare/d.ts'])
})

test('every file of lib/ is in a folder lib/README.md lists, and imports only its own folder and lower floors', () => {
  const floor = floors()
  const g = graph()
  const outside = [...g.keys()].filter((f) => f.startsWith('lib/') && (folderOf(f) === undefined || !floor.has(folderOf(f)!)))
  assert.deepEqual(outside, [], 'files outside the listed folders')
  const listed = [...floor.keys()].filter((name) => !readdirSync(join(root, 'lib')).includes(name))
  assert.deepEqual(listed, [], 'folders lib/README.md lists that do not exist')
  assert.deepEqual(layerViolations(g, floor), [])
})
