/**
 * One relayed path: a `node:net` server listening on the path's public port that pipes each
 * accepted connection to the path's target, after checking the source address (core
 * `Cidr.contains`: an IPv4-mapped socket address matches IPv4 CIDRs; unparsable fails closed). Plain
 * callback code (no Effect): the gateway wraps its lifecycle.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"
import { Cidr, type RegionalGateway } from "@transient-access/core"

type NatPath = RegionalGateway.NatPath

/** What a path needs from its owner. */
export interface RelayPathOptions {
  readonly bindAddress: string
  readonly connectTimeoutMs: number
  readonly now: () => number
  readonly onRefused: (path: NatPath, remoteAddress: string) => void
}

/**
 * A live connection through the relay.
 *
 * @inline
 */
export interface RelayConnection {
  readonly grantId: string
  readonly publicPort: number
  readonly remoteAddress: string
  readonly remotePort: number
  readonly openedAt: number
}

/**
 * The mutable state of one path. `path` may be replaced by a repeated `open` of the same
 * grant; `listening` is false once the path stopped (stop time reached) or was closed.
 */
export class RelayPath {
  path: NatPath
  readonly server: Net.Server
  readonly connections = new Map<Net.Socket, { readonly upstream: Net.Socket; readonly info: RelayConnection }>()
  listening = false
  private readonly options: RelayPathOptions

  constructor(path: NatPath, options: RelayPathOptions) {
    this.path = path
    this.options = options
    this.server = Net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket))
    this.server.on("error", () => this.stop())
  }

  /** Starts listening on the public port; rejects with the listen error. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.server.off("listening", onListening)
        reject(error)
      }
      const onListening = () => {
        this.server.off("error", onError)
        this.listening = true
        resolve()
      }
      this.server.once("error", onError)
      this.server.once("listening", onListening)
      this.server.listen({ port: this.path.publicPort, host: this.options.bindAddress, exclusive: true })
    })
  }

  /** Stops accepting and cuts every established connection. Idempotent. */
  stop(): void {
    if (this.listening) {
      this.listening = false
      this.server.close()
    }
    for (const [client, { upstream }] of this.connections) {
      client.resetAndDestroy()
      upstream.destroy()
    }
    this.connections.clear()
  }

  private accept(client: Net.Socket): void {
    const remoteAddress = client.remoteAddress
    const path = this.path
    if (remoteAddress === undefined || !this.listening || this.options.now() >= path.stopAt || !Cidr.contains(path.source, remoteAddress)) {
      this.options.onRefused(path, remoteAddress ?? "unknown")
      client.on("error", () => {})
      client.resetAndDestroy()
      return
    }
    const upstream = Net.connect({ host: path.target.address, port: path.target.port })
    const info: RelayConnection = {
      grantId: path.grantId,
      publicPort: path.publicPort,
      remoteAddress,
      remotePort: client.remotePort ?? 0,
      openedAt: this.options.now()
    }
    this.connections.set(client, { upstream, info })
    const connectTimer = setTimeout(() => upstream.destroy(new Error("connect timeout")), this.options.connectTimeoutMs)
    const teardown = () => {
      clearTimeout(connectTimer)
      if (this.connections.delete(client)) {
        client.destroy()
        upstream.destroy()
      }
    }
    client.on("error", teardown).on("close", teardown)
    upstream.on("error", teardown).on("close", teardown)
    upstream.once("connect", () => {
      clearTimeout(connectTimer)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
  }
}
