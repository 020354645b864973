// The unit tests beside the code (lib/**/*.test.ts) in one process instead of one each (test/run.ts passes this file
// to node --test among the others): they share no state, and a process per file cost more than their tests.
// STACKYARD_UNIT_FILES: the files to import (JSON, relative to the root), as test/run.ts selected them.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = join(import.meta.dirname, '..')
const files = JSON.parse(process.env.STACKYARD_UNIT_FILES ?? '[]') as string[]
if (files.length === 0) throw new Error('test/unit-tests.ts: STACKYARD_UNIT_FILES names no file (run it through test/run.ts)')
for (const f of files) await import(pathToFileURL(join(root, f)).href)
