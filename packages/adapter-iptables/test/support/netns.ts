/**
 * Test topology in network namespaces this process creates and removes:
 *
 *   client ns (10.71.1.2 allowed, 10.71.1.3 outside) ── veth ── regional ns (public
 *   10.71.1.1, tunnel 10.71.2.1, forwarding on) ── veth ("tunnel") ── device ns (10.71.2.2,
 *   no route back to the client: answers reach it only through the regional SNAT)
 *
 * Names carry a random suffix; nothing touches the root namespace's firewall, and no
 * traffic leaves the namespaces.
 *
 * @since 0.1.0
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, it } from "vitest"

const execFileAsync = promisify(execFile)

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

/** The addresses and namespace names of one topology. */
export interface Topology {
  readonly client: string
  readonly regional: string
  readonly device: string
  readonly publicAddress: string
  readonly tunnelAddress: string
  readonly deviceAddress: string
  readonly clientAddress: string
  readonly outsideAddress: string
  readonly processes: Array<ChildProcess>
}

/** Runs argv in a namespace; rejects on failure. */
export const inNs = async (ns: string, argv: ReadonlyArray<string>): Promise<string> => {
  const { stdout } = await execFileAsync("ip", ["netns", "exec", ns, ...argv], { maxBuffer: 64 * 1024 * 1024 })
  return stdout
}

/** Creates the three namespaces and their links. */
export const createTopology = async (): Promise<Topology> => {
  const suffix = randomBytes(3).toString("hex")
  const topology: Topology = {
    client: `ta-c-${suffix}`,
    regional: `ta-r-${suffix}`,
    device: `ta-d-${suffix}`,
    publicAddress: "10.71.1.1",
    tunnelAddress: "10.71.2.1",
    deviceAddress: "10.71.2.2",
    clientAddress: "10.71.1.2",
    outsideAddress: "10.71.1.3",
    processes: []
  }
  const { client, regional, device } = topology
  for (const ns of [client, regional, device]) await execFileAsync("ip", ["netns", "add", ns])
  const ip = (argv: ReadonlyArray<string>) => execFileAsync("ip", [...argv])
  await ip(["link", "add", `c${suffix}`, "netns", client, "type", "veth", "peer", "name", `r${suffix}`, "netns", regional])
  await ip(["link", "add", `d${suffix}`, "netns", device, "type", "veth", "peer", "name", `t${suffix}`, "netns", regional])
  const run = (ns: string, argv: ReadonlyArray<string>) => inNs(ns, argv)
  await run(client, ["ip", "addr", "add", "10.71.1.2/24", "dev", `c${suffix}`])
  await run(client, ["ip", "addr", "add", "10.71.1.3/24", "dev", `c${suffix}`])
  await run(regional, ["ip", "addr", "add", "10.71.1.1/24", "dev", `r${suffix}`])
  await run(regional, ["ip", "addr", "add", "10.71.2.1/24", "dev", `t${suffix}`])
  await run(device, ["ip", "addr", "add", "10.71.2.2/24", "dev", `d${suffix}`])
  for (const [ns, link] of [[client, `c${suffix}`], [regional, `r${suffix}`], [regional, `t${suffix}`], [device, `d${suffix}`]] as const) {
    await run(ns, ["ip", "link", "set", link, "up"])
  }
  for (const ns of [client, regional, device]) await run(ns, ["ip", "link", "set", "lo", "up"])
  await run(regional, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
  return topology
}

/** Kills the helpers and removes the namespaces. */
export const destroyTopology = async (topology: Topology | undefined): Promise<void> => {
  if (!topology) return
  for (const child of topology.processes) child.kill("SIGKILL")
  for (const ns of [topology.client, topology.regional, topology.device]) {
    await execFileAsync("ip", ["netns", "del", ns]).catch(() => undefined)
  }
}

/** Absolute path of a file in this folder. */
export const supportFile = (name: string) => fileURLToPath(new URL(name, import.meta.url))

/** Spawns a helper in a namespace and waits for its first line of output. */
export const spawnIn = async (
  topology: Topology,
  ns: string,
  argv: ReadonlyArray<string>,
  ready?: RegExp,
  readyOn: "stdout" | "stderr" = "stdout"
): Promise<ChildProcess> => {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["pipe", "pipe", readyOn === "stderr" ? "pipe" : "inherit"] })
  topology.processes.push(child)
  if (ready) {
    await new Promise<void>((resolve, reject) => {
      let seen = ""
      const stream = readyOn === "stderr" ? child.stderr : child.stdout
      const onData = (chunk: Buffer) => {
        seen += chunk.toString("utf8")
        if (ready.test(seen)) {
          stream?.off("data", onData)
          stream?.resume()
          resolve()
        }
      }
      stream?.on("data", onData)
      child.once("exit", (code) => reject(new Error(`${argv.join(" ")} exited ${code} before it was ready`)))
    })
  }
  return child
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
