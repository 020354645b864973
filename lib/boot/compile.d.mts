// Types of what TypeScript code uses from compile.mjs (plain JavaScript: it runs before any TypeScript can).
/** the compiled files of the repository (or copy) at `root` */
export function cacheDir(root: string): string
/** written to a temporary file first, then renamed: a reader sees the old file or the new one, never a part */
export function writeWhole(path: string, text: string): void
