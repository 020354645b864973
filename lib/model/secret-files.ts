// Every file that holds secrets gets the same checks (private mode, not tracked by git): the env files, their
// backups, temp copies an interrupted write left, the backups folder, its archives and dumps, work folders of killed
// backups. Reads the file system and the git index (through the injected `gitTracked`); changes nothing.
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { processAlive, tempFileOwner } from '../core/fs-atomic.ts'
import { BACKUP_DIR, staleLeftovers } from '../core/backup-dir.ts'

/** The files at the root that hold secrets: the env layers with secrets and the backups their writes keep. */
export const SECRET_HOLDERS = ['.env', '.env.bak', '.env.infisical', '.env.infisical.bak'] as const

export interface SecretFileFinding {
  status: 'fail' | 'warn'
  message: string
  where: string
  fix: string
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0')

/** Mode and git findings for one secret-holding path (relative to root; a folder is checked as a folder). */
async function privacy(root: string, rel: string, gitTracked: (path: string) => Promise<boolean | undefined>, what: string): Promise<SecretFileFinding[]> {
  const out: SecretFileFinding[] = []
  const info = statSync(join(root, rel))
  const folder = info.isDirectory()
  if ((await gitTracked(rel)) === true)
    out.push({ status: 'fail', message: `${rel} is tracked by git: ${folder ? 'the secrets in it are' : 'its secrets are'} in the repository history`, where: rel, fix: `git rm -r --cached ${rel}, then rotate every secret ${folder ? 'in it' : 'it held'}` })
  const mode = info.mode & 0o777
  if (mode & 0o077) out.push({ status: 'fail', message: `${rel} ${what ? `(${what}) ` : ''}is ${folder ? 'open to' : 'readable by'} others (mode ${octal(mode)})`, where: rel, fix: `chmod ${folder ? 700 : 600} ${rel}` })
  return out
}

/** Findings for every secret-holding file and folder under `root` (the default backups folder only). */
export async function secretFileFindings(root: string, gitTracked: (path: string) => Promise<boolean | undefined>): Promise<SecretFileFinding[]> {
  const findings: SecretFileFinding[] = []
  for (const f of SECRET_HOLDERS) if (existsSync(join(root, f))) findings.push(...(await privacy(root, f, gitTracked, '')))
  // copies an interrupted write left beside a secret file
  for (const name of readdirSync(root).sort()) {
    const owner = tempFileOwner(name)
    if (!owner || !(SECRET_HOLDERS as readonly string[]).includes(owner.of)) continue
    if (owner.pid !== undefined && processAlive(owner.pid)) continue // a write in progress
    findings.push({ status: 'warn', message: `${name} is a copy of ${owner.of} an interrupted write left behind`, where: name, fix: `rm ${name} (the next write of ${owner.of} removes it too)` })
    findings.push(...(await privacy(root, name, gitTracked, `a copy of ${owner.of}`)))
  }
  const dir = join(root, BACKUP_DIR)
  if (existsSync(dir) && lstatSync(dir).isDirectory()) {
    findings.push(...(await privacy(root, BACKUP_DIR, gitTracked, 'the backups folder')))
    const stale = new Set(staleLeftovers(dir).map((l) => l.name))
    for (const name of readdirSync(dir).sort()) {
      const rel = `${BACKUP_DIR}/${name}`
      if (stale.has(name))
        findings.push({ status: 'warn', message: `${rel} was left by a backup that was killed: it holds raw dumps${lstatSync(join(dir, name)).isDirectory() ? '' : ' or secrets'}`, where: rel, fix: `rm -r ${rel} (the next backup removes it too)` })
      const info = lstatSync(join(dir, name))
      if (info.isFile() || info.isDirectory()) findings.push(...(await privacy(root, rel, gitTracked, info.isDirectory() ? 'a backup work folder' : 'a backup')))
    }
  }
  return findings
}
