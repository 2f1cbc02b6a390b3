/**
 * The simulator's API protocol, spoken raw over a socket: every word-length encoding
 * boundary, tags, traps, `!empty`, `.proplist`, the query stack, `/cancel`, login flows,
 * `!fatal` before login, the reserved control byte.
 */
import { createHash } from "node:crypto"
import * as net from "node:net"
import { afterAll, assert, describe, it } from "vitest"
import { SentenceReader, decodeLength, encodeLength, encodeSentence } from "../src/internal/wire.ts"
import { startSimulator } from "../src/testing/index.ts"
import type { Simulator } from "../src/testing/Simulator.ts"

/** A raw API client: send sentences, read sentences. */
class RawClient {
  private readonly reader = new SentenceReader()
  private readonly queue: Array<ReadonlyArray<string>> = []
  private waiters: Array<() => void> = []
  closed = false
  readonly socket: net.Socket
  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on("data", (chunk) => {
      this.queue.push(...this.reader.push(chunk).sentences)
      for (const wake of this.waiters.splice(0)) wake()
    })
    socket.on("close", () => {
      this.closed = true
      for (const wake of this.waiters.splice(0)) wake()
    })
  }
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawClient(socket)))
      socket.on("error", reject)
    })
  }
  send(...words: ReadonlyArray<string>): void {
    this.socket.write(encodeSentence(words))
  }
  async read(): Promise<ReadonlyArray<string>> {
    while (this.queue.length === 0) {
      if (this.closed) throw new Error("closed")
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
    return this.queue.shift()!
  }
  /** Reads until a `!done` (or `!fatal`) with this tag. */
  async until(tag?: string): Promise<Array<ReadonlyArray<string>>> {
    const out: Array<ReadonlyArray<string>> = []
    for (;;) {
      const sentence = await this.read()
      out.push(sentence)
      const hasTag = tag === undefined || sentence.includes(`.tag=${tag}`)
      if ((sentence[0] === "!done" && hasTag) || sentence[0] === "!fatal") return out
    }
  }
  async login(name: string, password: string): Promise<void> {
    this.send("/login", `=name=${name}`, `=password=${password}`)
    assert.deepStrictEqual(await this.until(), [["!done"]])
  }
  close(): void {
    this.socket.destroy()
  }
}

const sims: Array<Simulator> = []
const start = async (profile: "legacy" | "v6" | "v7" | "v7.18" = "v7") => {
  const sim = await startSimulator({ adminPassword: "pw", profile, sshPort: false })
  sims.push(sim)
  return sim
}
afterAll(() => Promise.all(sims.map((sim) => sim.stop())))

describe("word length encoding", () => {
  it("encodes the manual's test vectors and decodes them back", () => {
    const vectors: Array<[number, string]> = [
      [0, "00"],
      [0x7f, "7f"],
      [0x80, "8080"],
      [0x3fff, "bfff"],
      [0x4000, "c04000"],
      [0x1fffff, "dfffff"],
      [0x200000, "e0200000"],
      [0xfffffff, "efffffff"],
      [0x10000000, "f010000000"]
    ]
    for (const [length, hex] of vectors) {
      assert.strictEqual(encodeLength(length).toString("hex"), hex, `length ${length}`)
      const decoded = decodeLength(Buffer.from(hex, "hex"), 0)
      assert.deepStrictEqual(decoded, { _tag: "Length", length, size: hex.length / 2 })
    }
    assert.deepStrictEqual(decodeLength(Buffer.from([0xf8]), 0), { _tag: "Control", byte: 0xf8 })
  })

  it("round-trips words at every boundary through the simulator (raw socket)", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    await client.login("admin", "pw")
    for (const length of [0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000]) {
      // the word `=source=<filler>` has exactly `length` bytes
      const prefix = "=source="
      const filler = "x".repeat(length - prefix.length)
      client.send("/system/script/add", `=name=len${length}`, `${prefix}${filler}`, ".tag=a")
      const [done] = await client.until("a")
      assert.strictEqual(done![0], "!done", `add at ${length}`)
      client.send("/system/script/print", `?name=len${length}`, "=.proplist=source", ".tag=b")
      const replies = await client.until("b")
      assert.strictEqual(replies[0]![1]!.length, length, `word of ${length} bytes came back whole`)
      assert.strictEqual(replies[0]![1], `${prefix}${filler}`)
    }
    client.close()
  }, 60_000)

  it("feeds the reader one byte at a time", () => {
    const bytes = encodeSentence(["!re", `=a=${"y".repeat(200)}`, ".tag=7"])
    const reader = new SentenceReader()
    const got: Array<ReadonlyArray<string>> = []
    for (const byte of bytes) got.push(...reader.push(Buffer.from([byte])).sentences)
    assert.deepStrictEqual(got, [["!re", `=a=${"y".repeat(200)}`, ".tag=7"]])
  })
})

describe("sentences and replies", () => {
  it("tags every reply, traps are followed by !done, untagged commands get untagged replies", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    await client.login("admin", "pw")
    client.send("/user/remove", "=.id=*77", ".tag=t1")
    assert.deepStrictEqual(await client.until("t1"), [
      ["!trap", "=category=0", "=message=no such item (4)", ".tag=t1"],
      ["!done", ".tag=t1"]
    ])
    client.send("/nope/print")
    assert.deepStrictEqual(await client.until(), [["!trap", "=category=0", "=message=no such command prefix"], ["!done"]])
    client.send("/user/add", "=name=u1", "=group=read", "=bogus=1", ".tag=t2")
    assert.deepStrictEqual((await client.until("t2"))[0], ["!trap", "=category=1", "=message=unknown parameter", ".tag=t2"])
    client.send("/user/add", "=name=u1", "=group=read", ".tag=t3")
    assert.deepStrictEqual(await client.until("t3"), [["!done", "=ret=*2", ".tag=t3"]])
    client.send("/user/add", "=name=u1", "=group=read", ".tag=t4")
    assert.include((await client.until("t4"))[0]!, "=message=failure: user with the same name already exisits")
    client.send("/user/add", "=name=u2", "=group=nosuch", ".tag=t5")
    assert.include((await client.until("t5"))[0]!, "=message=input does not match any value of group")
    client.send("", "") // empty sentence: ignored
    client.send("#", ".tag=k")
    assert.deepStrictEqual(await client.until("k"), [["!done", ".tag=k"]])
    client.close()
  })

  it("print: booleans true/false, .proplist, unset fields omitted, query stack", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    await client.login("admin", "pw")
    for (const [name, group] of [
      ["q1", "read"],
      ["q2", "write"],
      ["q3", "full"]
    ]) {
      client.send("/user/add", `=name=${name}`, `=group=${group}`, "=disabled=yes", ".tag=x")
      await client.until("x")
    }
    client.send("/user/print", "=.proplist=name,disabled,address", "?name=admin", ".tag=p")
    assert.deepStrictEqual(await client.until("p"), [
      ["!re", "=name=admin", "=disabled=false", "=address=0.0.0.0/0", ".tag=p"],
      ["!done", ".tag=p"]
    ])
    client.send("/user/print", "=.proplist=name", "?group=read", "?group=write", "?#|", ".tag=o")
    assert.deepStrictEqual(
      (await client.until("o")).filter((s) => s[0] === "!re").map((s) => s[1]),
      ["=name=q1", "=name=q2"]
    )
    client.send("/user/print", "=.proplist=name", "?disabled=true", "?group=full", "?#&!", "?disabled=true", "?#&", ".tag=n")
    assert.deepStrictEqual(
      (await client.until("n")).filter((s) => s[0] === "!re").map((s) => s[1]),
      ["=name=q1", "=name=q2"]
    )
    client.send("/user/print", "=.proplist=name", "?-comment", ".tag=m")
    assert.deepStrictEqual(
      (await client.until("m")).filter((s) => s[0] === "!re").map((s) => s[1]),
      ["=name=q1", "=name=q2", "=name=q3"]
    )
    // query words are ignored outside print [OBS I4]
    client.send("/user/remove", "?name=q1", ".tag=r")
    assert.strictEqual((await client.until("r"))[0]![0], "!trap")
    assert.isDefined(sim.state.users.find("q1"))
    client.close()
  })

  it("v7.18 sends !empty before !done on an empty print; v7 does not", async () => {
    for (const [profile, expected] of [
      [
        "v7.18",
        [
          ["!empty", ".tag=e"],
          ["!done", ".tag=e"]
        ]
      ],
      ["v7", [["!done", ".tag=e"]]]
    ] as const) {
      const sim = await start(profile)
      const client = await RawClient.connect(sim.apiPort)
      await client.login("admin", "pw")
      client.send("/user/print", "?name=nobody", ".tag=e")
      assert.deepStrictEqual(await client.until("e"), expected as unknown as Array<ReadonlyArray<string>>)
      client.close()
    }
  })

  it("/cancel interrupts a running command: trap category 2, then done for both", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    await client.login("admin", "pw")
    client.send("/user/active/listen", ".tag=L")
    client.send("/cancel", "=tag=L", ".tag=C")
    const replies = [await client.read(), await client.read(), await client.read()]
    assert.deepStrictEqual(replies, [
      ["!trap", "=category=2", "=message=interrupted", ".tag=L"],
      ["!done", ".tag=C"],
      ["!done", ".tag=L"]
    ])
    client.close()
  })
})

describe("login", () => {
  it("commands before login get !fatal not logged in and the connection closes", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    client.send("/user/print")
    assert.deepStrictEqual(await client.read(), ["!fatal", "not logged in"])
    await new Promise((resolve) => client.socket.once("close", resolve))
  })

  it("post-6.43 login; wrong password traps 'invalid user name or password (6)'", async () => {
    const sim = await start("v6")
    const client = await RawClient.connect(sim.apiPort)
    client.send("/login", "=name=admin", "=password=wrong")
    assert.deepStrictEqual(await client.until(), [["!trap", "=message=invalid user name or password (6)"], ["!done"]])
    await client.login("admin", "pw")
    client.close()
  })

  it("legacy challenge login (pre-6.43): md5(0 ‖ password ‖ challenge); bad response 'cannot log in'", async () => {
    const sim = await start("legacy")
    const client = await RawClient.connect(sim.apiPort)
    client.send("/login")
    const [challengeReply] = await client.until()
    const challenge = Buffer.from(challengeReply![1]!.slice("=ret=".length), "hex")
    assert.strictEqual(challenge.length, 16)
    client.send("/login", "=name=admin", `=response=00${"0".repeat(32)}`)
    assert.deepStrictEqual(await client.until(), [["!trap", "=message=cannot log in"], ["!done"]])
    client.send("/login")
    const [second] = await client.until()
    const fresh = Buffer.from(second![1]!.slice(5), "hex")
    const digest = createHash("md5")
      .update(Buffer.concat([Buffer.from([0]), Buffer.from("pw"), fresh]))
      .digest("hex")
    client.send("/login", "=name=admin", `=response=00${digest}`)
    assert.deepStrictEqual(await client.until(), [["!done"]])
    client.close()
  })

  it("disabled users, users without the api policy and users outside `address` cannot log in", async () => {
    const sim = await start()
    await sim.run('/user group add name=noapi policy="read,ssh"')
    await sim.run("/user add name=off group=full password=p disabled=yes")
    await sim.run("/user add name=noapi group=noapi password=p")
    await sim.run("/user add name=far group=full password=p address=192.0.2.0/24")
    for (const name of ["off", "noapi", "far"]) {
      const client = await RawClient.connect(sim.apiPort)
      client.send("/login", `=name=${name}`, "=password=p")
      assert.strictEqual((await client.until())[0]![0], "!trap", name)
      client.close()
    }
  })

  it("a reserved control byte (>= 0xF8) closes the connection", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    client.socket.write(Buffer.from([0xf8]))
    await new Promise((resolve) => client.socket.once("close", resolve))
    assert.isTrue(client.closed)
  })

  it("request-logout ends an API session with !fatal", async () => {
    const sim = await start()
    const client = await RawClient.connect(sim.apiPort)
    await client.login("admin", "pw")
    const row = sim.state.active.items.find((item) => item.props.get("via") === "api")!
    await sim.run(`/user active request-logout [find where via=api]`)
    assert.deepStrictEqual(await client.read(), ["!fatal", "logged out"])
    assert.isUndefined(sim.state.active.items.find((item) => item === row))
  })
})
