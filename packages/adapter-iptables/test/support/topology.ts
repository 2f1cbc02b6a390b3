/**
 * Network namespaces for tests and benchmarks, created and removed by this process:
 *
 *   client ns (10.71.1.2 allowed, 10.71.1.3 outside) ── veth ── regional ns (public
 *   10.71.1.1, tunnel 10.71.2.1, forwarding on) ── veth ("tunnel") ── device ns (10.71.2.2,
 *   no route back to the client: answers reach it only through the regional SNAT)
 *
 * Names carry a random suffix; nothing touches the root namespace's firewall, and no
 * traffic leaves the namespaces. No test-runner imports, so plain Node scripts can use it.
 *
 * @since 0.1.0
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

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
  for (const [ns, link] of [
    [client, `c${suffix}`],
    [regional, `r${suffix}`],
    [regional, `t${suffix}`],
    [device, `d${suffix}`]
  ] as const) {
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
