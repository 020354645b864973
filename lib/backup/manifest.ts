// The manifest inside every backup archive (manifest.json): what each file is (stack, service, method, database or
// volume), from which image, its size and sha256, plus the Stackyard version that wrote it. Zod schema and the index
// an archive is checked against while it streams; pure: the archive itself is lib/archive.ts.
import { z } from 'zod'
import { ArchiveError, type ArchiveIndex, type IndexedEntry } from './archive.ts'

export const MANIFEST_FILE = 'manifest.json'
export const SECRET_FILES = ['.env', '.env.infisical'] as const

/** the largest manifest accepted (a real one is a few kB) */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024
/** the largest secret file accepted (it is read into memory, never written to a temp file) */
export const SECRET_MAX_BYTES = 1024 * 1024

const Sha = z.string().regex(/^[0-9a-f]{64}$/)
/** Every text of a manifest is printed or used as a name: no control characters (terminal escapes, NUL, newlines). */
const Text = z.string().max(4096).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'holds control characters')
const FileInfo = { file: Text.min(1), size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), sha256: Sha }

export const ManifestEntry = z.object({
  stack: Text,
  service: Text,
  /** compose project at backup time */
  project: Text,
  method: z.enum(['pg_dump', 'snapshot', 'volume']),
  /** globals: the roles; database: one database; settings: its database-level grants and settings; snapshot: the RDB file; volume: one named volume */
  kind: z.enum(['globals', 'database', 'settings', 'snapshot', 'volume']),
  ...FileInfo,
  database: Text.optional(),
  owner: Text.optional(),
  /** pg_dump: the role it connected as */
  user: Text.optional(),
  /** volume key (compose file) and, for snapshots, the file name inside it */
  volume: Text.optional(),
  target: Text.optional(),
  /** image reference of the running container, its id and registry digest when known */
  image: Text,
  imageId: Text.optional(),
  digest: Text.optional(),
})
export type ManifestEntry = z.infer<typeof ManifestEntry>

export const Manifest = z.object({
  format: z.literal('stackyard-backup'),
  version: z.literal(1),
  createdAt: Text,
  stackyard: z.object({ version: Text, commit: Text.nullable() }),
  /** the Docker context it was taken from (null: Docker's current one) */
  context: Text.nullable(),
  environment: Text,
  stacks: z.array(Text),
  entries: z.array(ManifestEntry),
  secrets: z.array(z.object({ name: z.enum(SECRET_FILES), ...FileInfo, size: z.number().int().min(0).max(SECRET_MAX_BYTES) })),
  /** declared services that were not backed up, and why (profile off, x-backup none, volume not created yet) */
  skipped: z.array(z.object({ stack: Text, service: Text, reason: Text })),
})
export type Manifest = z.infer<typeof Manifest>

export function parseManifest(text: string, where: string): Manifest {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new ArchiveError(`${where}: ${MANIFEST_FILE} is not JSON (${(err as Error).message})`, { hint: 'the archive is corrupt, or not one tasks/backup.ts wrote; nothing was changed. Use another backup' })
  }
  const r = Manifest.safeParse(data)
  if (!r.success) {
    const i = r.error.issues[0]
    throw new ArchiveError(`${where}: ${MANIFEST_FILE}: ${i.path.join('.') || '(root)'}: ${i.message}`, { hint: 'this is not an archive written by this version of tasks/backup.ts; nothing was changed' })
  }
  return r.data
}

/**
 * The index a backup archive is checked against while it streams (lib/backup/archive.ts): manifest.json first, then exactly
 * the files it lists, each once, with its size and sha256. A file listed twice is refused here.
 */
export function manifestIndex(where: string): ArchiveIndex & { manifest(): Manifest } {
  let parsed: Manifest | undefined
  return {
    name: MANIFEST_FILE,
    label: 'the manifest',
    maxBytes: MANIFEST_MAX_BYTES,
    read(bytes) {
      const m = parseManifest(bytes.toString('utf8'), where)
      const listed = new Map<string, IndexedEntry>()
      for (const e of [...m.entries, ...m.secrets]) {
        if (e.file === MANIFEST_FILE || listed.has(e.file)) throw new ArchiveError(`${where}: ${MANIFEST_FILE} lists ${e.file} twice`, { hint: 'this is not an archive written by tasks/backup.ts; nothing was changed' })
        listed.set(e.file, { size: e.size, sha256: e.sha256 })
      }
      parsed = m
      return listed
    },
    manifest() {
      if (!parsed) throw new Error('manifestIndex: the manifest was not read yet')
      return parsed
    },
  }
}
