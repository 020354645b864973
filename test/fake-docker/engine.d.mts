// Types of engine.mjs (the fake Docker engine as a function) for the TypeScript tests that call it in-process.
export interface DockerCallInput {
  /** the arguments after `docker` */
  argv: string[]
  cwd: string
  /** the caller's whole environment (FAKE_DOCKER_* steer the fake; the shell's values interpolate compose files) */
  env: Record<string, string | undefined>
  stdin: Buffer
}
export interface DockerCallAnswer {
  code: number
  stdout: Buffer
  stderr: string
}
export function dockerCall(call: DockerCallInput): Promise<DockerCallAnswer>
