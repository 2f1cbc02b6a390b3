/**
 * Containment of node-routeros 1.6.9 defects that crash or hang a process (notes §3), applied
 * once, in place, to the library's prototypes:
 *
 * 1. `!empty` (RouterOS ≥ 7.18 on empty prints) is thrown as `UNKNOWNREPLY` inside the socket
 *    data handler → uncaught exception [SRC Channel.onUnknown][OBS I6]. Patched: `!empty` is
 *    skipped and the following `!done` settles the call (the node-red-contrib-mikrotik fix).
 * 2. Any other throw inside the data handler (`UNKNOWNREPLY`, `UNREGISTEREDTAG`) would also be
 *    uncaught. Patched: the connector's `onData` catches it, destroys the socket and reports
 *    it as a connection error (the connection is then re-established by the pool).
 *
 * 3. The transmitter writes every word separately; with Nagle's algorithm on, each command
 *    waits for the peer's delayed ACK (~40 ms per round trip, measured against the simulator).
 *    Patched: `TCP_NODELAY` on connect.
 *
 * The other defects are contained by `ApiClient`: an `'error'` listener on every instance (idle
 * timeout `'error'` with no listener kills the process [OBS I1, I2]); a deadline on every call
 * and failing every in-flight call on `'close'` (`!fatal` leaves promises pending [EXP]); an
 * explicit port with TLS (it otherwise stays 8728 [EXP probe4]); refusing words that do not
 * survive Windows-1252 transcoding [SRC][EXP].
 *
 * @since 0.1.0
 */
import { Channel, Connector } from "node-routeros"

interface PatchableChannel {
  processPacket: (packet: Array<string>) => void
}
interface PatchableConnector {
  onData: (data: Buffer) => void
  onConnect: () => void
  receiver: { processRawData: (data: Buffer) => void }
  socket: { destroy: (error?: Error) => void; setNoDelay: (noDelay: boolean) => void } | undefined
  emit: (event: string, ...args: ReadonlyArray<unknown>) => boolean
  listenerCount: (event: string) => number
}

let applied = false

/**
 * Applies the patches (idempotent).
 *
 * @category constructors
 * @since 0.1.0
 */
export const applyNodeRouterosPatches = (): void => {
  if (applied) return
  applied = true
  const channel = Channel.prototype as unknown as PatchableChannel
  const originalProcess = channel.processPacket
  channel.processPacket = function (this: PatchableChannel, packet: Array<string>) {
    if (packet[0] === "!empty") return
    originalProcess.call(this, packet)
  }
  const connector = Connector.prototype as unknown as PatchableConnector
  const originalConnect = connector.onConnect
  connector.onConnect = function (this: PatchableConnector) {
    this.socket?.setNoDelay(true)
    originalConnect.call(this)
  }
  connector.onData = function (this: PatchableConnector, data: Buffer) {
    try {
      this.receiver.processRawData(data)
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      if (this.listenerCount("error") > 0) this.emit("error", failure, this)
      this.socket?.destroy()
    }
  }
}

/** Windows-1252 characters above 0x7F outside Latin-1's 0xA0–0xFF range. */
const cp1252Extra = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")

/**
 * Whether a word survives node-routeros' Windows-1252 transcoding unchanged.
 *
 * @category guards
 * @since 0.1.0
 */
export const survivesCp1252 = (word: string): boolean => {
  for (const char of word) {
    const code = char.codePointAt(0)!
    if (code < 0x80 || (code >= 0xa0 && code <= 0xff) || cp1252Extra.has(char)) continue
    return false
  }
  return true
}
