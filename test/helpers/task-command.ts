// How tests start a task as a process: the way `npx zx tasks/<task>.ts` does (zx's CLI, with .npmrc's preload of
// lib/boot/boot.mjs), minus npm's own start-up. One definition for every test that needs a process.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** argv of a task run as users run it, in the repository (or copy) at `root` */
export function taskCommand(root: string, task: string, args: readonly string[] = []): string[] {
  return [process.execPath, `--import=${pathToFileURL(join(root, 'lib', 'boot', 'boot.mjs')).href}`, join(root, 'node_modules', 'zx', 'build', 'cli.js'), join(root, 'tasks', task), ...args]
}

/** the same as one shell command line (for a test that drives a terminal); arguments single-quoted */
export function taskShellCommand(root: string, task: string, args: readonly string[] = []): string {
  return taskCommand(root, task, args).map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
}
