// The manifest inside every backup archive (manifest.json): what each file is (stack, service, method, database or
// volume), from which image, its size and sha256, plus the Stackyard version that wrote it. Zod schema and checks;
// pure: the archive itself is lib/archive.ts.
import { z } from 'zod'
import { ArchiveError } from './archive.ts'

export const MANIFEST_FILE = 'manifest.json'
export const SECRET_FILES = ['.env', '.env.infisical'] as const

const Sha = z.string().regex(/^[0-9a-f]{64}$/)
const FileInfo = { file: z.string().min(1), size: z.number().int().min(0), sha256: Sha }

export const ManifestEntry = z.object({
  stack: z.string(),
  service: z.string(),
  /** compose project at backup time */
  project: z.string(),
  method: z.enum(['pg_dump', 'snapshot', 'volume']),
  /** globals: the roles; database: one database; snapshot: the RDB file; volume: one named volume */
  kind: z.enum(['globals', 'database', 'snapshot', 'volume']),
  ...FileInfo,
  database: z.string().optional(),
  owner: z.string().optional(),
  /** pg_dump: the role it connected as */
  user: z.string().optional(),
  /** volume key (compose file) and, for snapshots, the file name inside it */
  volume: z.string().optional(),
  target: z.string().optional(),
  /** image reference of the running container, its id and registry digest when known */
  image: z.string(),
  imageId: z.string().optional(),
  digest: z.string().optional(),
})
export type ManifestEntry = z.infer<typeof ManifestEntry>

export const Manifest = z.object({
  format: z.literal('stackyard-backup'),
  version: z.literal(1),
  createdAt: z.string(),
  stackyard: z.object({ version: z.string(), commit: z.string().nullable() }),
  /** the Docker context it was taken from (null: Docker's current one) */
  context: z.string().nullable(),
  environment: z.string(),
  stacks: z.array(z.string()),
  entries: z.array(ManifestEntry),
  secrets: z.array(z.object({ name: z.enum(SECRET_FILES), ...FileInfo })),
  /** declared services that were not backed up, and why (profile off, x-backup none, volume not created yet) */
  skipped: z.array(z.object({ stack: z.string(), service: z.string(), reason: z.string() })),
})
export type Manifest = z.infer<typeof Manifest>

export function parseManifest(text: string, where: string): Manifest {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new ArchiveError(`${where}: ${MANIFEST_FILE} is not JSON (${(err as Error).message})`, { hint: 'this is not an archive written by tasks/backup.ts' })
  }
  const r = Manifest.safeParse(data)
  if (!r.success) {
    const i = r.error.issues[0]
    throw new ArchiveError(`${where}: ${MANIFEST_FILE}: ${i.path.join('.') || '(root)'}: ${i.message}`, { hint: 'this is not an archive written by this version of tasks/backup.ts' })
  }
  return r.data
}

/**
 * Every file the manifest lists is in the archive with exactly its size and sha256, and the archive holds nothing
 * else. Returns the problems (empty: verified).
 */
export function verifyEntries(manifest: Manifest, extracted: ReadonlyMap<string, { size: number; sha256: string }>): string[] {
  const problems: string[] = []
  const listed = new Set<string>([MANIFEST_FILE])
  for (const e of [...manifest.entries, ...manifest.secrets]) {
    if (listed.has(e.file)) problems.push(`${e.file}: listed twice`)
    listed.add(e.file)
    const got = extracted.get(e.file)
    if (!got) problems.push(`${e.file}: missing`)
    else if (got.size !== e.size) problems.push(`${e.file}: ${got.size} bytes, the manifest says ${e.size}`)
    else if (got.sha256 !== e.sha256) problems.push(`${e.file}: sha256 ${got.sha256.slice(0, 12)}…, the manifest says ${e.sha256.slice(0, 12)}…`)
  }
  for (const name of extracted.keys()) if (!listed.has(name)) problems.push(`${name}: not in the manifest`)
  return problems
}
