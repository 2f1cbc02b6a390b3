/**
 * Runs a command for the packaging scripts: its stdout, or an error carrying the command,
 * the folder and everything it printed.
 */
import { execFileSync } from "node:child_process"

/** Runs `command args` in `cwd` and returns its stdout; throws with its output when it fails. */
export const run = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: "pipe" })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} (in ${cwd}) failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`)
  }
}
