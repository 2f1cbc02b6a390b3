/**
 * The RouterOS API protocol server of the simulator, over TCP (`api`, 8728) or TLS
 * (`api-ssl`, 8729; with a certificate, or anonymous Diffie-Hellman when none is set
 * [DOC A1]).
 *
 * Protocol behaviour and its sources (notes §1): words/sentences [DOC A1]; reserved control
 * byte ≥ 0xF8 closes the connection [DOC A1 "cannot proceed"]; every reply sentence carries
 * the command's non-empty `.tag` [DOC A1]; `!trap` is followed by `!done` [DOC A1][OBS I8];
 * nothing is ever sent for a tag after its `!done` (node-routeros crashes on it [SRC]);
 * `!fatal <reason>` is a bare word, then close [DOC A1][OBS C4]; commands before login →
 * `!fatal not logged in` [OBS C4]; `!empty` before `!done` on empty prints in the `v7.18`
 * profile [DOC A1][OBS I7]; query words only affect `print` [DOC A1][OBS I4]; `/cancel`
 * [DOC A1]; `/quit` → `!fatal session terminated on request` [DOC A1]; the `#` keepalive of
 * node-routeros gets `!done` (real reply [??], notes §3.4).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as net from "node:net"
import * as tls from "node:tls"
import { SentenceReader, encodeSentence, parseAttribute } from "../internal/wire.ts"
import type { FaultAction, Faults } from "./Faults.ts"
import { matches } from "./Query.ts"
import { RosError, texts } from "./RosError.ts"
import type { RouterState } from "./RouterState.ts"
import type { Item } from "./Tables.ts"

/**
 * TLS mode of the api-ssl listener: a certificate, or `"anonymous"` (ADH ciphers; needs
 * `@SECLEVEL=0` and TLS ≤ 1.2 on OpenSSL 3 clients, notes §1.1).
 *
 * @category models
 * @since 0.1.0
 */
export type ApiTls = { readonly key: string | Buffer; readonly cert: string | Buffer } | "anonymous"

/** Cap on sentences accepted before login (RouterOS has one; its value is [??], notes §1.3). */
const maxSentencesBeforeLogin = 32

/**
 * Starts an API listener on `host:port` (0 = any free port); resolves to the server.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startApiServer = (
  state: RouterState,
  faults: Faults,
  options: { readonly host: string; readonly port: number; readonly tls?: ApiTls }
): Promise<net.Server> => {
  const sockets = new Set<net.Socket>()
  const onConnection = (socket: net.Socket) => {
    if (faults.offline) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    new ApiConnection(state, faults, socket)
  }
  const server =
    options.tls === undefined
      ? net.createServer(onConnection)
      : tls.createServer(
          options.tls === "anonymous"
            ? { ciphers: "ADH-AES256-GCM-SHA384:ADH-AES128-SHA:@SECLEVEL=0", maxVersion: "TLSv1.2", dhparam: "auto" }
            : { key: options.tls.key, cert: options.tls.cert },
          onConnection
        )
  const previous = faults.onOffline
  faults.onOffline = () => {
    previous()
    for (const socket of sockets) socket.destroy()
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port, options.host, () => resolve(server))
  })
}

class ApiConnection {
  private readonly reader = new SentenceReader()
  private user: Item | undefined
  private challenge: Buffer | undefined
  private sessionId: number | undefined
  private sentencesBeforeLogin = 0
  private closed = false
  /** Running (unfinished) commands by tag: their cancel functions. */
  private readonly running = new Map<string, () => void>()
  private readonly state: RouterState
  private readonly faults: Faults
  private readonly socket: net.Socket

  constructor(state: RouterState, faults: Faults, socket: net.Socket) {
    this.state = state
    this.faults = faults
    this.socket = socket
    socket.on("data", (chunk) => this.onData(chunk))
    socket.on("error", () => this.close())
    socket.on("close", () => this.close())
  }

  private onData(chunk: Buffer): void {
    const { control, sentences } = this.reader.push(chunk)
    for (const sentence of sentences) this.onSentence(sentence)
    if (control) this.socket.destroy()
  }

  private close(): void {
    if (this.closed) return
    this.closed = true
    for (const cancel of this.running.values()) cancel()
    this.running.clear()
    if (this.sessionId !== undefined) this.state.closeSession(this.sessionId)
  }

  private send(sentences: ReadonlyArray<ReadonlyArray<string>>, fragment?: FaultAction & { _tag: "fragment" }): void {
    if (this.closed || this.socket.destroyed) return
    const bytes = Buffer.concat(sentences.map(encodeSentence))
    if (fragment === undefined) {
      this.socket.write(bytes) // one write per reply batch (notes §3.5, §7)
      return
    }
    const cut = fragment.beforeTerminator ? bytes.length - 1 : undefined
    const size = fragment.size ?? 1
    const pieces = cut !== undefined ? [bytes.subarray(0, cut), bytes.subarray(cut)] : []
    if (cut === undefined) for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size))
    let delay = 0
    for (const piece of pieces) {
      setTimeout(() => {
        if (!this.socket.destroyed) this.socket.write(piece)
      }, delay)
      delay += 5
    }
  }

  private fatal(reason: string): void {
    this.send([["!fatal", reason]])
    this.socket.end()
    this.close()
  }

  private onSentence(words: ReadonlyArray<string>): void {
    const command = words[0]!
    let tag: string | undefined
    const attrs = new Map<string, string>()
    const queries: Array<string> = []
    for (const word of words.slice(1)) {
      if (word.startsWith(".tag=")) tag = word.slice(5)
      else if (word.startsWith("?")) queries.push(word.slice(1))
      else {
        const attribute = parseAttribute(word)
        if (attribute) attrs.set(attribute[0], attribute[1])
      }
    }
    const tagged = (reply: ReadonlyArray<string>): ReadonlyArray<string> =>
      tag !== undefined && tag !== "" ? [...reply, `.tag=${tag}`] : reply
    if (this.user === undefined) {
      this.sentencesBeforeLogin++
      if (command !== "/login") return this.fatal("not logged in")
      if (this.sentencesBeforeLogin > maxSentencesBeforeLogin) return this.fatal("too many commands before login")
      return this.login(attrs, tagged)
    }
    const action = this.faults.take(command)
    if (action !== undefined && this.applyFault(action, tagged)) return
    const fragment = action?._tag === "fragment" ? action : undefined
    const delay = action?._tag === "delay" ? action.ms : 0
    if (command === "#") return this.reply([tagged(["!done"])], delay, tag, fragment)
    if (command === "/quit") return this.fatal("session terminated on request")
    if (command === "/cancel") return this.cancel(attrs.get("tag"), tagged)
    if (command === "/login") return this.reply([tagged(["!done"])], delay, tag, fragment)
    const segments = command.split("/").filter((segment) => segment !== "")
    if (!command.startsWith("/") || segments.length < 2) {
      return this.reply([tagged(["!trap", `=message=${texts.noSuchCommand}`]), tagged(["!done"])], delay, tag, fragment)
    }
    const verb = segments[segments.length - 1]!
    if (verb === "listen") {
      // `listen` never finishes on its own [DOC A1]; changes are not streamed by the simulator.
      if (tag !== undefined) this.running.set(tag, () => {})
      return
    }
    const proplist = attrs.get(".proplist")
    attrs.delete(".proplist")
    void this.state
      .execute(segments.slice(0, -1), verb, attrs, { user: this.user.props.get("name") ?? "", policies: this.state.policiesOf(this.user) })
      .then((result) => {
        const replies: Array<ReadonlyArray<string>> = []
        const isPrint = verb === "print" || verb === "getall"
        let rows = result.rows ?? []
        if (isPrint) rows = rows.filter((row) => matches(row, queries))
        for (const row of rows) {
          const keys = proplist === undefined ? Object.keys(row) : proplist.split(",").filter((key) => key in row)
          replies.push(tagged(["!re", ...keys.map((key) => `=${key}=${row[key]}`)]))
        }
        if (isPrint && rows.length === 0 && this.state.options.traits.emptyReply) replies.push(tagged(["!empty"]))
        replies.push(tagged(result.ret !== undefined ? ["!done", `=ret=${result.ret}`] : ["!done"]))
        this.reply(replies, delay, tag, fragment)
      })
      .catch((error: unknown) => {
        const trap =
          error instanceof RosError
            ? ["!trap", ...(error.category !== undefined ? [`=category=${error.category}`] : []), `=message=${error.message}`]
            : ["!trap", "=category=4", `=message=${String(error)}`]
        this.reply([tagged(trap), tagged(["!done"])], delay, tag, fragment)
      })
  }

  /** Sends a reply batch, after `delay` ms; a `/cancel` in between interrupts it. */
  private reply(
    sentences: ReadonlyArray<ReadonlyArray<string>>,
    delay: number,
    tag: string | undefined,
    fragment: (FaultAction & { _tag: "fragment" }) | undefined
  ): void {
    if (delay <= 0) return this.send(sentences, fragment)
    const timer = setTimeout(() => {
      if (tag !== undefined) this.running.delete(tag)
      this.send(sentences, fragment)
    }, delay)
    if (tag !== undefined) this.running.set(tag, () => clearTimeout(timer))
  }

  /** Applies a fault; true when the command is fully handled by it. */
  private applyFault(action: FaultAction, tagged: (reply: ReadonlyArray<string>) => ReadonlyArray<string>): boolean {
    switch (action._tag) {
      case "drop":
        this.socket.destroy()
        this.close()
        return true
      case "fatal":
        this.fatal(action.reason)
        return true
      case "silence":
        return true
      case "trap":
        this.send([
          tagged(["!trap", ...(action.category !== undefined ? [`=category=${action.category}`] : []), `=message=${action.message}`]),
          tagged(["!done"])
        ])
        return true
      default:
        return false
    }
  }

  /** [DOC A1] `/cancel [=tag=T]`: trap category 2 `interrupted` + `!done` for T, `!done` for the cancel. */
  private cancel(target: string | undefined, tagged: (reply: ReadonlyArray<string>) => ReadonlyArray<string>): void {
    const victims = target === undefined ? [...this.running.keys()] : this.running.has(target) ? [target] : []
    const replies: Array<ReadonlyArray<string>> = []
    for (const victim of victims) {
      this.running.get(victim)?.()
      this.running.delete(victim)
      replies.push(["!trap", "=category=2", `=message=${texts.interrupted}`, `.tag=${victim}`])
    }
    replies.push(tagged(["!done"]))
    for (const victim of victims) replies.push(["!done", `.tag=${victim}`])
    this.send(replies)
  }

  private login(attrs: ReadonlyMap<string, string>, tagged: (reply: ReadonlyArray<string>) => ReadonlyArray<string>): void {
    const traits = this.state.options.traits
    const name = attrs.get("name")
    const password = attrs.get("password")
    const response = attrs.get("response")
    const peer = this.socket.remoteAddress ?? ""
    const fail = () => this.send([tagged(["!trap", `=message=${traits.badLoginText}`]), tagged(["!done"])])
    const succeed = (user: Item) => {
      this.user = user
      this.sessionId = this.state.openSession(user, peer, "api", {
        close: (reason) => this.fatal(reason)
      })
      this.send([tagged(["!done"])])
    }
    if (response !== undefined && name !== undefined && this.challenge !== undefined) {
      // [DOC A1][EXP legacy.js] response = "00" + md5(0x00 ‖ password ‖ challenge)
      const challenge = this.challenge
      this.challenge = undefined
      const user = this.state.authenticate(
        name,
        (stored) => {
          const digest = createHash("md5")
            .update(Buffer.concat([Buffer.from([0]), Buffer.from(stored, "latin1"), challenge]))
            .digest("hex")
          return response === `00${digest}`
        },
        peer,
        "api"
      )
      return user ? succeed(user) : fail()
    }
    const wantsChallenge = (name === undefined && traits.challengeLogin) || (!traits.plainLogin && name !== undefined)
    if (wantsChallenge) {
      // [DOC A1] `!done =ret=<32 hex>`; pre-6.43 answers name+password with it too [OBS I10].
      this.challenge = randomBytes(16)
      return this.send([tagged(["!done", `=ret=${this.challenge.toString("hex")}`])])
    }
    if (name === undefined || password === undefined) return fail()
    const user = this.state.authenticate(name, (stored) => stored === password, peer, "api")
    return user ? succeed(user) : fail()
  }
}
