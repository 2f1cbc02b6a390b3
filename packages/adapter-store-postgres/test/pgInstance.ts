/**
 * A private PostgreSQL server for tests that stop and start it: `initdb` into a temp dir,
 * on a random free loopback port, run as the `postgres` user through `su` (the server
 * refuses to run as root). Never touches the shared test server.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, chownSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)
const bin = "/usr/lib/postgresql/15/bin"

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const asPostgres = (command: string) => run("su", ["postgres", "-c", command], { timeout: 60_000 })

/** A private server: its URL and controls. */
export interface PgInstance {
  readonly url: string
  readonly port: number
  /** Kills the server without a clean shutdown (`pg_ctl stop -m immediate`, a crash). */
  readonly crash: () => Promise<void>
  readonly start: () => Promise<void>
  /** Stops the server and deletes its files. */
  readonly destroy: () => Promise<void>
}

/** Why a private server cannot be made here, or undefined when it can. */
export const unavailableReason = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return "needs root (to run initdb/pg_ctl as the postgres user through su)"
  try {
    await run(join(bin, "pg_ctl"), ["--version"])
    await run("id", ["postgres"])
    return undefined
  } catch (error) {
    return `PostgreSQL binaries or the postgres user are missing: ${String(error)}`
  }
}

/** Creates and starts a private server. */
export const startInstance = async (): Promise<PgInstance> => {
  const dir = mkdtempSync(join(tmpdir(), "ta-pg-restart-"))
  chownSync(dir, ...(await ids()))
  const data = join(dir, "data")
  const port = await freePort()
  await asPostgres(`${bin}/initdb -D ${data} -U postgres --auth=trust >/dev/null`)
  const start = () =>
    asPostgres(
      `${bin}/pg_ctl -D ${data} -l ${join(dir, "log")} -w -o '-p ${port} -k ${dir} -c listen_addresses=127.0.0.1' start >/dev/null`
    ).then(() => undefined)
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    crash: () => asPostgres(`${bin}/pg_ctl -D ${data} -m immediate -w stop >/dev/null`).then(() => undefined),
    start,
    destroy: async () => {
      await asPostgres(`${bin}/pg_ctl -D ${data} -m immediate -w stop >/dev/null 2>&1 || true`).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const ids = async (): Promise<[number, number]> => {
  const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim())
  const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim())
  return [uid, gid]
}
