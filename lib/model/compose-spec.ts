// Compose files against the current compose-spec JSON schema (bundled by the dclint package), with
// errors that name the file, line and field. Reads the schema file; validates parsed documents.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Ajv as AjvClass, ValidateFunction } from 'ajv'
import { isMap, isScalar, type Document, type Node } from 'yaml'
import { ConfigError } from '../core/errors.ts'
import { parseYaml, readYamlText } from '../core/yaml-file.ts'
import { repoRoot } from '../core/paths.ts'
import { cacheDir, writeWhole } from '../boot/compile.mjs'

export interface SchemaProblem {
  file: string
  line?: number
  path: string
  message: string
}

let validator: ValidateFunction | undefined

/**
 * The schema's validator. ajv compiles a schema into JavaScript, which for this one takes most of a doctor run; the
 * code is kept under node_modules/.cache/stackyard/, named by the schema's and the packages' content, and loaded
 * instead of compiling again (where the folder cannot be written, every run compiles).
 */
function compile(): ValidateFunction {
  return (validator ??= schemaValidator(cacheDir(repoRoot)))
}

/** The validator from the code kept in `cacheDir`, or compiled (and kept there). */
export function schemaValidator(cacheDir: string): ValidateFunction {
  const require = createRequire(import.meta.url)
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json')
  const schemaText = readFileSync(schemaPath, 'utf8')
  const packages = ['ajv', 'ajv-formats'].map((p) => require.resolve(`${p}/package.json`))
  const versions = packages.map((p) => `${p}@${(JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version}`)
  const cached = join(cacheDir, `compose-schema.${createHash('sha1').update(`2\0${versions.join('\0')}\0${schemaText}`).digest('hex').slice(0, 16)}.cjs`)
  if (existsSync(cached)) return require(cached) as ValidateFunction
  const schema = JSON.parse(schemaText)
  delete schema.$schema
  // ajv (CommonJS, ~140 files) is loaded only to compile, so tasks that import the doctor but never validate stay fast
  const { Ajv } = require('ajv') as { Ajv: typeof AjvClass }
  const formats = require('ajv-formats') as { default?: (a: AjvClass) => void } & ((a: AjvClass) => void)
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } })
  ;(formats.default ?? formats)(ajv)
  const validate = ajv.compile(schema)
  try {
    const standalone = require('ajv/dist/standalone') as { default: (a: AjvClass, v: ValidateFunction) => string }
    mkdirSync(dirname(cached), { recursive: true })
    // the code requires ajv's runtime helpers and the formats: by their paths here, wherever the code is kept
    const code = standalone.default(ajv, validate).replace(/\brequire\("([^"]+)"\)/g, (_, id: string) => `require(${JSON.stringify(require.resolve(id))})`)
    writeWhole(cached, code) // another run may be reading it
  } catch {} // not cached: the next run compiles again
  return validate
}

/** Validates one compose file's text; `file` is used in messages. */
export function validateComposeText(text: string, file: string): SchemaProblem[] {
  let parsed
  try {
    parsed = parseYaml(text, file)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return [{ file, line: err.line, path: '', message: err.message.replace(/^[^:]+(:\d+)?: /, '') }]
  }
  const { doc, lines, data } = parsed
  const validate = compile()
  if (validate(data)) return []
  const seen = new Set<string>()
  const problems: SchemaProblem[] = []
  for (const e of validate.errors ?? []) {
    // the schema's oneOf/anyOf branches produce noise; keep the most specific message per path
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue
    const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    const path = segments.join('.')
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''
    const message = `${e.message ?? 'invalid'}${extra}`
    const key = `${path}|${message}`
    if (seen.has(key)) continue
    seen.add(key)
    let line: number | undefined
    const lookup = e.keyword === 'additionalProperties' ? [...segments, (e.params as { additionalProperty: string }).additionalProperty] : segments
    for (let n = lookup.length; n >= 0 && line === undefined; n--) {
      const keyNode = n === lookup.length && e.keyword === 'additionalProperties' ? findKey(doc, lookup) : undefined
      if (keyNode?.range) {
        line = lines.linePos(keyNode.range[0]).line
        break
      }
      const node = doc.getIn(lookup.slice(0, n).map((s) => (/^\d+$/.test(s) ? Number(s) : s)), true) as Node | undefined
      if (node && typeof node === 'object' && 'range' in node && node.range) line = lines.linePos(node.range[0]).line
    }
    problems.push({ file, line, path, message })
  }
  return problems
}

/** The key node (not the value) of the last path segment, so a misspelt key reports its own line. */
function findKey(doc: Document, path: string[]): Node | undefined {
  const parent = doc.getIn(path.slice(0, -1), true)
  if (!isMap(parent)) return undefined
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path[path.length - 1])
  return pair?.key as Node | undefined
}

export function validateComposeFile(abs: string, file: string): SchemaProblem[] {
  try {
    return validateComposeText(readYamlText(abs, file), file)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return [{ file, line: err.line, path: '', message: err.message.replace(/^[^:]+(:\d+)?: /, '') }]
  }
}
