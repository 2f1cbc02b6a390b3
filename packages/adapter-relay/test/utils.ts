/**
 * Real-socket helpers for the relay tests: an echo target, free ports, a client that can bind
 * its local address, and fixtures for regions and paths.
 */
import type { Grant, RegionalGateway, Topology } from "@transient-access/core"
import * as Net from "node:net"

type GrantId = Grant.Grant["id"]

/** A TCP echo server on 127.0.0.1; returns its port and a closer. */
export const echoServer = async (): Promise<{ readonly port: number; readonly close: () => Promise<void> }> => {
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket)).on("error", () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as Net.AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** A port that was free a moment ago (the kernel picks it). */
export const freePort = async (host = "127.0.0.1"): Promise<number> => {
  const server = Net.createServer()
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as Net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Outcome of one client exchange through the relay. */
export type Exchange = { readonly _tag: "Echoed"; readonly data: string } | { readonly _tag: "Refused"; readonly code: string }

/**
 * Connects (optionally from `localAddress`), sends `message` and waits for the echo or for
 * the connection to fail or close without it.
 */
export const exchange = (
  port: number,
  message: string,
  options: { readonly host?: string; readonly localAddress?: string } = {}
): Promise<Exchange> =>
  new Promise((resolve) => {
    const socket = Net.connect({
      host: options.host ?? "127.0.0.1",
      port,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {})
    })
    let received = ""
    const done = (result: Exchange) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(3_000, () => done({ _tag: "Refused", code: "TIMEOUT" }))
    socket.on("connect", () => socket.write(message))
    socket.on("data", (chunk) => {
      received += chunk.toString()
      if (received.length >= message.length) done({ _tag: "Echoed", data: received })
    })
    socket.on("error", (error: NodeJS.ErrnoException) => done({ _tag: "Refused", code: error.code ?? "ERROR" }))
    socket.on("close", () => done({ _tag: "Refused", code: "CLOSED" }))
  })

/** An open client connection through the relay, to observe when it is cut. */
export const openClient = async (port: number): Promise<{ readonly socket: Net.Socket; readonly closed: Promise<void> }> => {
  const socket = Net.connect({ host: "127.0.0.1", port })
  socket.on("error", () => {})
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve())
    socket.once("error", reject)
  })
  // one round trip proves the relay connected upstream
  await new Promise<void>((resolve) => {
    socket.once("data", () => resolve())
    socket.write("ping")
  })
  return { socket, closed }
}

/** A region whose range covers one port (tests pick free ports). */
export const region = (id: string, port: number): Topology.Region =>
  ({ id, endpointHost: "127.0.0.1", portRange: { from: port, to: port }, tunnelAddress: "127.0.0.1" }) as Topology.Region

/** A path on `port` to the echo server. */
export const natPath = (input: {
  readonly grantId: string
  readonly region: Topology.Region
  readonly port: number
  readonly targetPort: number
  readonly source: string
  readonly stopAt: number
}): RegionalGateway.NatPath => ({
  grantId: input.grantId as GrantId,
  regionId: input.region.id,
  publicPort: input.port,
  source: input.source,
  target: { address: "127.0.0.1", port: input.targetPort },
  stopAt: input.stopAt
})
