/**
 * Netfilter gateway benchmark (run as root: `node packages/adapter-iptables/bench/netfilter.bench.ts`).
 *
 * For N = 100, 1,000 and 10,000 paths already open, in a fresh network namespace each:
 * - per-operation latency of `open` and `close` and open+close cycles per second, for
 *   - `naive`: one `iptables -A` / `-D` process per rule (DNAT rule + forward rule),
 *   - `iptables`: the adapter's iptables backend (one `iptables-restore --noflush` batch per change),
 *   - `nftables`: the adapter's nftables backend (one `nft -f -` transaction per change);
 *   adapter operations include validation, the fence compare-and-set, and for `close` the
 *   `conntrack -D`. Every command runs through `ip netns exec` for all three.
 * - connect() latency from the client namespace through the regional namespace to the device
 *   with 1 and with 10,000 paths open, per backend (the path used is the last one added).
 * Prints tables and ratios. Takes about 2-4 minutes on 2 vCPUs.
 *
 * @since 0.1.0
 */
import { execFile, spawn } from "node:child_process"
import net from "node:net"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Ids, RegionalGateway, type Topology as Core } from "@transient-access/core"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as CommandRunner from "../src/CommandRunner.ts"
import { chainNames, dnatRule, forwardRule } from "../src/internal/iptablesLayout.ts"
import { addPath } from "../src/internal/nftablesLayout.ts"
import type { ValidPath } from "../src/internal/path.ts"
import * as NetfilterGateway from "../src/NetfilterGateway.ts"
import { createTopology, destroyTopology, spawnIn, type Topology } from "../test/support/topology.ts"

const execFileAsync = promisify(execFile)
const self = fileURLToPath(import.meta.url)

// ---------------------------------------------------------------------------------------
// Helper processes (the bench re-runs itself inside namespaces)
// ---------------------------------------------------------------------------------------

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

// ---------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------

type Mode = "naive" | "iptables" | "nftables"
interface OpStats {
  readonly openMedian: number
  readonly openMin: number
  readonly closeMedian: number
  readonly closeMin: number
  readonly cyclesPerSecond: number
  readonly loadMs: number
}

function region(topology: Topology): Core.Region {
  return {
    id: Ids.RegionId.make("bench"),
    endpointHost: topology.publicAddress,
    portRange: { from: 20000, to: 39999 },
    tunnelAddress: topology.tunnelAddress
  }
}

function benchPath(index: number, stopAt: number): ValidPath {
  const a = Math.floor(index / 250) % 250
  const b = (index % 250) + 1
  return {
    grantId: Ids.GrantId.make(`ga_bench_${index}`),
    publicPort: 20000 + index,
    family: 4,
    source: `100.64.${a}.${b}/32`,
    network: `100.64.${a}.${b}`,
    prefixLength: 32,
    targetAddress: "10.71.2.2",
    targetPort: 22,
    stopAt
  }
}

const toNatPath = (path: ValidPath, regionId: Ids.RegionId): RegionalGateway.NatPath => ({
  grantId: path.grantId,
  regionId,
  publicPort: path.publicPort,
  source: path.source,
  target: { address: path.targetAddress, port: path.targetPort },
  stopAt: path.stopAt
})

function gatewayRuntime(topology: Topology, backend: "iptables" | "nftables") {
  const layer = NetfilterGateway.layer({ backend, cidrPolicy: { minPrefixV4: 8, minPrefixV6: 32, allowAnySource: false } }).pipe(
    Layer.provide(CommandRunner.layerLocal({ prefix: ["ip", "netns", "exec", topology.regional] }))
  )
  const runtime = ManagedRuntime.make(layer)
  return {
    runtime,
    use: <A, E>(f: (gateway: RegionalGateway.RegionalGateway["Service"]) => Effect.Effect<A, E>) =>
      runtime.runPromise(RegionalGateway.RegionalGateway.use(f))
  }
}

/** Loads `count` paths in one batch with the adapter's own layout (after the adapter created its base). */
async function bulkLoad(topology: Topology, mode: Mode, count: number, stopAt: number): Promise<void> {
  const paths = Array.from({ length: count }, (_, index) => benchPath(index, stopAt))
  if (mode === "nftables") {
    const script = paths
      .flatMap((path) =>
        addPath(region(topology), { table: "transient_access", publicAddress: undefined, snat: true }, path, stopAt - Date.now())
      )
      .join("\n")
    await pipeInto(topology, ["nft", "-f", "-"], `${script}\n`)
  } else {
    const layout = { names: chainNames("TA"), publicAddress: undefined, snat: true }
    const input = `*nat\n${paths.map((path) => dnatRule(path, layout)).join("\n")}\nCOMMIT\n*filter\n${paths.map((path) => forwardRule(path, layout)).join("\n")}\nCOMMIT\n`
    await pipeInto(topology, ["iptables-restore", "--noflush"], input)
  }
}

function pipeInto(topology: Topology, argv: ReadonlyArray<string>, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", topology.regional, ...argv], { stdio: ["pipe", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} failed: ${stderr}`))))
    child.stdin.end(input)
  })
}

const median = (values: ReadonlyArray<number>) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5
  )
const minimum = (values: ReadonlyArray<number>) => Math.min(...values)

async function timeOps(topology: Topology, mode: Mode, present: number, cycles: number): Promise<OpStats> {
  const stopAt = (Math.ceil(Date.now() / 1000) + 7200) * 1000
  const theRegion = region(topology)
  const opens: Array<number> = []
  const closes: Array<number> = []
  let loadMs = 0
  if (mode === "naive") {
    const layout = { names: chainNames("TA"), publicAddress: undefined, snat: true }
    // The same base layout the adapter would create, then the N paths.
    const seed = gatewayRuntime(topology, "iptables")
    await seed.use((g) => g.open(theRegion, toNatPath(benchPath(19_999, stopAt), theRegion.id), 1))
    await seed.runtime.dispose()
    await bulkLoad(topology, "iptables", present, stopAt)
    const iptables = (args: ReadonlyArray<string>) => execFileAsync("ip", ["netns", "exec", topology.regional, "iptables", ...args])
    const specOf = (line: string) =>
      line
        .split(" ")
        .slice(2)
        .map((word) => word.replace(/^"(.*)"$/, "$1"))
    for (let cycle = 0; cycle < cycles; cycle++) {
      const path = benchPath(present + cycle, stopAt)
      const dnat = specOf(dnatRule(path, layout))
      const forward = specOf(forwardRule(path, layout))
      let at = performance.now()
      await iptables(["-t", "nat", "-A", layout.names.dnat, ...dnat])
      await iptables(["-t", "filter", "-A", layout.names.grants, ...forward])
      opens.push(performance.now() - at)
      at = performance.now()
      await iptables(["-t", "nat", "-D", layout.names.dnat, ...dnat])
      await iptables(["-t", "filter", "-D", layout.names.grants, ...forward])
      closes.push(performance.now() - at)
    }
  } else {
    const seed = gatewayRuntime(topology, mode)
    await seed.use((g) => g.open(theRegion, toNatPath(benchPath(19_999, stopAt), theRegion.id), 1))
    await seed.runtime.dispose()
    await bulkLoad(topology, mode, present, stopAt)
    const gateway = gatewayRuntime(topology, mode)
    let at = performance.now()
    const listed = await gateway.use((g) => g.list(theRegion))
    loadMs = performance.now() - at
    if (listed.length !== present + 1) throw new Error(`expected ${present + 1} paths, listed ${listed.length}`)
    let revision = 2
    for (let cycle = 0; cycle < cycles; cycle++) {
      const path = toNatPath(benchPath(present + cycle, stopAt), theRegion.id)
      at = performance.now()
      await gateway.use((g) => g.open(theRegion, path, revision++))
      opens.push(performance.now() - at)
      at = performance.now()
      await gateway.use((g) => g.close(theRegion, { grantId: path.grantId, publicPort: path.publicPort }, revision++))
      closes.push(performance.now() - at)
    }
    await gateway.runtime.dispose()
  }
  const cycleTotal = opens.reduce((sum, value) => sum + value, 0) + closes.reduce((sum, value) => sum + value, 0)
  return {
    openMedian: median(opens),
    openMin: minimum(opens),
    closeMedian: median(closes),
    closeMin: minimum(closes),
    cyclesPerSecond: (1000 * cycles) / cycleTotal,
    loadMs
  }
}

async function connectLatency(
  topology: Topology,
  mode: "iptables" | "nftables",
  present: number
): Promise<{ p50: number; p90: number; min: number }> {
  const stopAt = (Math.ceil(Date.now() / 1000) + 7200) * 1000
  const theRegion = region(topology)
  const gateway = gatewayRuntime(topology, mode)
  await gateway.use((g) => g.open(theRegion, toNatPath(benchPath(19_999, stopAt), theRegion.id), 1))
  await gateway.runtime.dispose()
  if (present > 0) await bulkLoad(topology, mode, present, stopAt)
  // The client's own path, added last (the worst place in a linear chain).
  const clientPath: RegionalGateway.NatPath = {
    grantId: Ids.GrantId.make("ga_bench_client"),
    regionId: theRegion.id,
    publicPort: 39_000,
    source: `${topology.clientAddress}/32`,
    target: { address: topology.deviceAddress, port: 22 },
    stopAt
  }
  const second = gatewayRuntime(topology, mode)
  await second.use((g) => g.open(theRegion, clientPath, 2))
  await second.runtime.dispose()
  const { stdout } = await execFileAsync(
    "ip",
    [
      "netns",
      "exec",
      topology.client,
      process.execPath,
      self,
      "--connect",
      topology.publicAddress,
      "39000",
      topology.clientAddress,
      "2000"
    ],
    { maxBuffer: 1 << 20 }
  )
  return JSON.parse(stdout) as { p50: number; p90: number; min: number }
}

async function withTopology<A>(use: (topology: Topology) => Promise<A>): Promise<A> {
  const topology = await createTopology()
  try {
    return await use(topology)
  } finally {
    await destroyTopology(topology)
  }
}

const fixed = (value: number, digits = 2) => value.toFixed(digits).padStart(9)

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error("netfilter bench: needs root (network namespaces); skipped")
    process.exit(process.env.CI === "true" ? 1 : 0)
  }
  const benchStarted = performance.now()
  const sizes = [100, 1000, 10_000]
  const modes: ReadonlyArray<Mode> = ["naive", "iptables", "nftables"]
  const results = new Map<string, OpStats>()
  console.log("netfilter bench: open/close latency (ms) with N paths already open; median / min; cycles = open+close per second")
  for (const size of sizes) {
    const cycles = size >= 10_000 ? 12 : 25
    console.log(`\nN = ${size} (${cycles} cycles per mode)`)
    console.log("  mode       open med  open min close med close min  cycles/s  list ms")
    for (const mode of modes) {
      const stats = await withTopology((topology) => timeOps(topology, mode, size, cycles))
      results.set(`${mode}:${size}`, stats)
      console.log(
        `  ${mode.padEnd(9)}${fixed(stats.openMedian)} ${fixed(stats.openMin)} ${fixed(stats.closeMedian)} ${fixed(stats.closeMin)} ${fixed(stats.cyclesPerSecond, 1)} ${mode === "naive" ? "        -" : fixed(stats.loadMs, 0)}`
      )
    }
    const get = (mode: Mode) => results.get(`${mode}:${size}`)!
    const ratio = (a: Mode, b: Mode) => (get(b).cyclesPerSecond / get(a).cyclesPerSecond).toFixed(1)
    console.log(
      `  ratios (open+close throughput): iptables/naive ${ratio("naive", "iptables")}x, nftables/naive ${ratio("naive", "nftables")}x, nftables/iptables ${ratio("iptables", "nftables")}x`
    )
  }
  console.log("\nclose latency growth from N=100 to N=10,000 (median):")
  for (const mode of modes) {
    const small = results.get(`${mode}:100`)!
    const large = results.get(`${mode}:10000`)!
    console.log(
      `  ${mode.padEnd(9)} ${small.closeMedian.toFixed(1)} ms -> ${large.closeMedian.toFixed(1)} ms (${(large.closeMedian / small.closeMedian).toFixed(1)}x); open ${small.openMedian.toFixed(1)} -> ${large.openMedian.toFixed(1)} ms`
    )
  }

  console.log("\nconnect() latency through the regional namespace (ms; 2,000 connections after 200 warm-up; client path added last)")
  console.log("  backend    paths     p50       p90       min")
  const connect = new Map<string, { p50: number; p90: number; min: number }>()
  for (const mode of ["iptables", "nftables"] as const) {
    for (const present of [0, 10_000]) {
      const stats = await withTopology(async (topology) => {
        await spawnIn(topology, topology.device, [process.execPath, self, "--listen", topology.deviceAddress, "22"], /listening/)
        return connectLatency(topology, mode, present)
      })
      connect.set(`${mode}:${present}`, stats)
      console.log(
        `  ${mode.padEnd(9)}${String(present + 2).padStart(6)} ${fixed(stats.p50, 3)} ${fixed(stats.p90, 3)} ${fixed(stats.min, 3)}`
      )
    }
  }
  const c = (key: string) => connect.get(key)!.p50
  console.log(
    `  ratios (p50): iptables 10k/1 ${(c("iptables:10000") / c("iptables:0")).toFixed(1)}x, nftables 10k/1 ${(c("nftables:10000") / c("nftables:0")).toFixed(1)}x, iptables/nftables at 10k ${(c("iptables:10000") / c("nftables:10000")).toFixed(1)}x`
  )
  console.log(`\ntotal ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`)
}

// Entry point: helper modes run inside namespaces; no argument runs the benchmark.
if (process.argv[2] === "--listen") {
  const [host, port] = process.argv.slice(3)
  net.createServer((socket) => socket.on("error", () => {})).listen(Number(port), host, () => process.stdout.write("listening\n"))
} else if (process.argv[2] === "--connect") {
  const [host, port, localAddress, count] = process.argv.slice(3)
  const samples: Array<number> = []
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now()
      const socket = net.connect({ host: host ?? "", port: Number(port), localAddress: localAddress ?? "" })
      socket.once("connect", () => {
        samples.push(performance.now() - started)
        socket.resetAndDestroy()
        resolve()
      })
      socket.once("error", reject)
    })
  const total = Number(count)
  for (let index = 0; index < total + 200; index++) {
    await once()
    if (index === 199) samples.length = 0 // warm-up
  }
  samples.sort((a, b) => a - b)
  process.stdout.write(JSON.stringify({ p50: quantile(samples, 0.5), p90: quantile(samples, 0.9), min: samples[0] }))
  process.exit(0)
} else {
  await main()
}
