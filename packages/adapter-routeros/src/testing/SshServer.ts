/**
 * The simulator's SSH service (ssh2): password authentication against the simulated
 * `/user` table — honouring `disabled`, the group's `ssh` policy and the `address`
 * restriction [DOC A2] — then `exec` and an interactive shell running the CLI interpreter
 * with the user's group policies. A live session appears in `/user/active` with `via=ssh`
 * and `/user/active/request-logout` ends it [DOC A2].
 *
 * Not simulated: public-key login, the full-screen console, RouterOS' exact error layout
 * and exit codes (exit status 0 is sent, [??]).
 *
 * @since 0.1.0
 */
import type * as net from "node:net"
import ssh2 from "ssh2"
import type { Connection, ServerChannel } from "ssh2"
import type { CliInterpreter } from "./CliInterpreter.ts"
import type { Faults } from "./Faults.ts"
import type { RouterState } from "./RouterState.ts"
import type { Item } from "./Tables.ts"

/**
 * A running SSH listener (the simulator's own handle, so that no `ssh2` type is part of the
 * testing entry's declarations).
 *
 * @category models
 * @since 0.2.0
 */
export interface SshListener {
  /** The port it listens on. */
  readonly port: number
  /** Stops listening; resolves once the listener is closed. */
  readonly close: () => Promise<void>
}

/**
 * Starts the SSH listener; resolves to its port and a way to close it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startSshServer = (
  state: RouterState,
  interpreter: CliInterpreter,
  faults: Faults,
  options: { readonly host: string; readonly port: number; readonly hostKey: string }
): Promise<SshListener> => {
  const clients = new Set<Connection>()
  const server = new ssh2.Server({ hostKeys: [options.hostKey] }, (client, info) => {
    if (faults.offline) {
      client.end()
      return
    }
    clients.add(client)
    let user: Item | undefined
    let sessionId: number | undefined
    client.on("authentication", (ctx) => {
      if (ctx.method !== "password") return ctx.reject(["password"])
      const found = state.authenticate(ctx.username, (stored) => stored === ctx.password, info.ip, "ssh")
      if (!found) return ctx.reject(["password"])
      user = found
      ctx.accept()
    })
    client.on("ready", () => {
      if (user === undefined) return
      sessionId = state.openSession(user, info.ip, "ssh", { close: () => client.end() })
      client.on("session", (accept) => {
        const session = accept()
        session.on("pty", (acceptPty) => acceptPty?.())
        session.on("exec", (acceptExec, _reject, request) => {
          const channel = acceptExec()
          void runAndReply(channel, request.command).then(() => {
            channel.exit(0)
            channel.end()
          })
        })
        session.on("shell", (acceptShell) => shell(acceptShell()))
      })
    })
    const finish = () => {
      clients.delete(client)
      if (sessionId !== undefined) state.closeSession(sessionId)
      sessionId = undefined
    }
    client.on("close", finish)
    client.on("error", finish)

    const caller = () => ({ user: user?.props.get("name") ?? "", policies: user ? state.policiesOf(user) : new Set<string>() })
    const runAndReply = async (channel: ServerChannel, command: string) => {
      try {
        const output = await interpreter.run(command, caller())
        channel.write(output.replaceAll("\n", "\r\n"))
      } catch (error) {
        channel.write(`${error instanceof Error ? error.message : String(error)}\r\n`)
      }
    }
    const shell = (channel: ServerChannel) => {
      const prompt = () => channel.write(`[${user?.props.get("name") ?? ""}@${state.identity}] > `)
      let line = ""
      prompt()
      channel.on("data", (data: Buffer) => {
        for (const char of data.toString("latin1")) {
          if (char === "\r" || char === "\n") {
            const command = line.trim()
            line = ""
            channel.write("\r\n")
            if (command === "/quit" || command === "quit") {
              channel.exit(0)
              channel.end()
              return
            }
            void runAndReply(channel, command).then(prompt)
          } else if (char === "\x7f") line = line.slice(0, -1)
          else {
            line += char
            channel.write(char)
          }
        }
      })
    }
  })
  // ssh2 keeps its net.Server in `_srv`: enable TCP_NODELAY like RouterOS' own stack would not
  // delay small replies (otherwise every exec waits for a delayed ACK, ~40 ms).
  ;(server as unknown as { _srv: net.Server })._srv.on("connection", (socket: net.Socket) => socket.setNoDelay(true))
  const previous = faults.onOffline
  faults.onOffline = () => {
    previous()
    for (const client of clients) client.end()
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port, options.host, () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((closed) => server.close(() => closed()))
      })
    )
  })
}
