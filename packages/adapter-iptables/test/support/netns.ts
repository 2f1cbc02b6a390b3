/**
 * Test guards and helpers on top of the namespace topology: run, fail (CI) or skip when
 * root and `ip netns` are missing; an echo service in the device namespace and a scripted
 * TCP client in the client namespace.
 *
 * @since 0.1.0
 */
import { type ChildProcess, execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { describe, it } from "vitest"
import { spawnIn, supportFile, type Topology } from "./topology.ts"

export * from "./topology.ts"

/** Whether root and `ip netns` work here; why not otherwise. */
export const netnsAvailability = (): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  if (process.getuid?.() !== 0) return { ok: false, reason: "these tests need root (network namespaces, iptables, nft)" }
  const name = `ta-probe-${randomBytes(3).toString("hex")}`
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: "pipe" })
    execFileSync("ip", ["netns", "del", name], { stdio: "pipe" })
  } catch (error) {
    return { ok: false, reason: `ip netns does not work here: ${String(error)}` }
  }
  for (const program of ["iptables-restore", "nft", "conntrack"]) {
    try {
      execFileSync("sh", ["-c", 'command -v "$0"', program], { stdio: "pipe" })
    } catch {
      return { ok: false, reason: `${program} is not installed` }
    }
  }
  return { ok: true }
}

/**
 * `describe` that runs when namespaces work, fails clearly when they do not and `CI=true`,
 * and skips with the reason otherwise.
 */
export const describeNetns = (name: string, body: () => void): void => {
  const availability = netnsAvailability()
  if (availability.ok) {
    describe(name, body)
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("needs root and ip netns (CI=true: failing instead of skipping)", () => {
        throw new Error(availability.reason)
      })
    })
  } else {
    describe.skip(`${name} (skipped: ${availability.reason})`, body)
  }
}

/** Starts the echo service in the device namespace on `port`. */
export const startEcho = (topology: Topology, port: number): Promise<ChildProcess> =>
  spawnIn(topology, topology.device, [process.execPath, supportFile("echo-server.mjs"), topology.deviceAddress, String(port)], /listening/)

/** What a probe reports. */
export interface ProbeEvent {
  readonly id: string
  readonly event: "connected" | "error" | "timeout" | "echo" | "closed" | "ended"
  readonly code?: string
  readonly data?: string
}

/** A TCP client living in the client namespace, driven line by line. */
export class Probe {
  private readonly child: ChildProcess
  private readonly waiting = new Map<string, (event: ProbeEvent) => void>()
  private buffer = ""

  private constructor(child: ChildProcess) {
    this.child = child
    child.stdout?.on("data", (chunk: Buffer) => {
      this.buffer += chunk.toString("utf8")
      let newline = this.buffer.indexOf("\n")
      while (newline >= 0) {
        const event = JSON.parse(this.buffer.slice(0, newline)) as ProbeEvent
        this.buffer = this.buffer.slice(newline + 1)
        const resolve = this.waiting.get(event.id)
        this.waiting.delete(event.id)
        resolve?.(event)
        newline = this.buffer.indexOf("\n")
      }
    })
  }

  /** Starts a probe in the client namespace. */
  static async start(topology: Topology): Promise<Probe> {
    return new Probe(await spawnIn(topology, topology.client, [process.execPath, supportFile("probe.mjs")]))
  }

  private request(command: Record<string, unknown> & { readonly id: string }): Promise<ProbeEvent> {
    return new Promise((resolve) => {
      this.waiting.set(command.id, resolve)
      this.child.stdin?.write(`${JSON.stringify(command)}\n`)
    })
  }

  /** Connects `id` to the public address and port from `localAddress`. */
  connect(id: string, host: string, port: number, localAddress: string, timeoutMs = 1500): Promise<ProbeEvent> {
    return this.request({ op: "connect", id, host, port, localAddress, timeoutMs })
  }

  /** Sends `data` on `id` and waits for it to come back. */
  echo(id: string, data: string, timeoutMs = 1500): Promise<ProbeEvent> {
    return this.request({ op: "echo", id, data, timeoutMs })
  }

  /** Closes `id`. */
  end(id: string): Promise<ProbeEvent> {
    return this.request({ op: "end", id })
  }
}
