/**
 * The scenarios every gateway variant (backend × command runner) must pass against real
 * netfilter in namespaces: validation, listing, the fence, the data path from an allowed
 * and an outside source, close cutting live sessions, and kernel expiry cutting them with
 * no SDK action.
 *
 * @since 0.1.0
 */
import { EngineConfig, Ids, type RegionalGateway } from "@transient-access/core"
import * as Effect from "effect/Effect"
import { afterAll, assert, beforeAll, expect, it } from "vitest"
import type * as Layer from "effect/Layer"
import { gatewayRuntime, rawHasLayout, rawTags, regionOf, tagsPerPath } from "./gateway.ts"
import { createTopology, describeNetns, destroyTopology, inNs, Probe, startEcho, type Topology } from "./netns.ts"

/** Hooks a variant may need around the shared topology (e.g. starting sshd in it). */
export interface Variant {
  readonly name: string
  readonly backend: "iptables" | "nftables"
  readonly setup?: (topology: Topology) => Promise<void>
  readonly teardown?: () => void
  readonly layer: (topology: Topology) => Layer.Layer<RegionalGateway.RegionalGateway, unknown>
}

/** Registers the scenarios for one variant. */
export const scenarios = (variant: Variant): void => {
  const { backend } = variant
  describeNetns(variant.name, () => {
    let topology: Topology
    let probe: Probe
    let gateway: ReturnType<typeof gatewayRuntime>
    let revision = 0
    const next = () => ++revision

    beforeAll(async () => {
      topology = await createTopology()
      await variant.setup?.(topology)
      await startEcho(topology, 22)
      probe = await Probe.start(topology)
      gateway = gatewayRuntime(variant.layer(topology))
    })
    afterAll(async () => {
      await gateway?.runtime.dispose()
      await destroyTopology(topology)
      variant.teardown?.()
    })

    const region = () => regionOf(topology)
    const pathOf = (grant: string, port: number, overrides: Partial<RegionalGateway.NatPath> = {}): RegionalGateway.NatPath => ({
      grantId: Ids.GrantId.make(grant),
      regionId: region().id,
      publicPort: port,
      source: `${topology.clientAddress}/32`,
      target: { address: topology.deviceAddress, port: 22 },
      stopAt: (Math.ceil(Date.now() / 1000) + 600) * 1000,
      ...overrides
    })

    it("rejects malformed input before running any command", async () => {
      const bad: ReadonlyArray<Partial<RegionalGateway.NatPath>> = [
        { source: "10.71.1.2/24" }, // host bits set
        { source: "010.71.1.2/32" }, // leading zero
        { source: "0.0.0.0/0" },
        { source: "10.71.1.2" }, // not canonical (no prefix)
        { source: "::ffff:10.71.1.2/128" },
        { source: "fd00::/64" }, // family differs from target and tunnel
        { target: { address: "fd00::2", port: 22 } },
        { target: { address: "10.71.2.02", port: 22 } },
        { publicPort: 39999 }, // outside the region's range
        { publicPort: 70000 },
        { stopAt: Date.now() - 1000 },
        { stopAt: Date.UTC(2039, 0, 1) + 1000 }, // beyond iptables' --datestop range
        { stopAt: Number.MAX_SAFE_INTEGER }, // not even a Date
        { grantId: "bad id" as Ids.GrantId }
      ]
      for (const overrides of bad) {
        const error = await gateway.use((g) => Effect.flip(g.open(region(), pathOf("ga_bad", 40001, overrides), next())))
        assert.strictEqual(error.reason, "Rejected", JSON.stringify(overrides))
      }
      assert.isFalse(await rawHasLayout(topology, backend), "nothing was written")
    })

    it("opens idempotently, lists, records the revision and tags every artifact", async () => {
      const path = pathOf("ga_open1", 40010)
      const rev = next()
      await gateway.use((g) => g.open(region(), path, rev))
      await gateway.use((g) => g.open(region(), path, rev))
      const listed = await gateway.use((g) => g.list(region()))
      expect(listed).toEqual([path])
      assert.strictEqual(await gateway.use((g) => g.revision(region())), rev)
      const tags = await rawTags(topology, backend)
      assert.deepStrictEqual(
        tags,
        Array.from({ length: tagsPerPath(backend) }, () => "ga_open1"),
        "every artifact tagged"
      )
      const held = await gateway.use((g) => Effect.flip(g.open(region(), pathOf("ga_other", 40010), next())))
      assert.strictEqual(held.reason, "Rejected")
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40010 }, next()))
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40010 }, revision))
      assert.deepStrictEqual(await rawTags(topology, backend), [])
      assert.deepStrictEqual(await gateway.use((g) => g.list(region())), [])
    })

    it("opens a path as long as the longest grant (core's hard TTL ceiling)", async () => {
      const path = pathOf("ga_long", 40060, { stopAt: Math.ceil(Date.now() / 1000) * 1000 + EngineConfig.hardMaxTtlMs })
      await gateway.use((g) => g.open(region(), path, next()))
      expect(await gateway.use((g) => g.list(region()))).toEqual([path])
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40060 }, next()))
      assert.deepStrictEqual(await rawTags(topology, backend), [])
    })

    it("refuses changes older than the recorded revision (the fence)", async () => {
      const closedAt = next()
      await gateway.use((g) => g.close(region(), { grantId: Ids.GrantId.make("ga_fence"), publicPort: 40020 }, closedAt))
      assert.strictEqual(await gateway.use((g) => g.revision(region())), closedAt)
      const error = await gateway.use((g) => Effect.flip(g.open(region(), pathOf("ga_fence", 40020), closedAt - 1)))
      assert.strictEqual(error.reason, "StaleRevision")
      assert.deepStrictEqual(await rawTags(topology, backend), [])
      const closeError = await gateway.use((g) =>
        Effect.flip(g.close(region(), { grantId: Ids.GrantId.make("ga_fence"), publicPort: 40020 }, closedAt - 1))
      )
      assert.strictEqual(closeError.reason, "StaleRevision")
    })

    it("forwards an allowed source to the device and refuses an outside one", async () => {
      const path = pathOf("ga_path", 40030)
      await gateway.use((g) => g.open(region(), path, next()))
      assert.strictEqual((await probe.connect("allowed", topology.publicAddress, 40030, topology.clientAddress)).event, "connected")
      assert.deepInclude(await probe.echo("allowed", "hello"), { event: "echo", data: "hello" })
      const outside = await probe.connect("outside", topology.publicAddress, 40030, topology.outsideAddress)
      assert.deepInclude(outside, { event: "error", code: "ECONNREFUSED" })
      await probe.end("allowed")
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40030 }, next()))
    })

    it("close refuses new connections and cuts an open session", async () => {
      const path = pathOf("ga_close", 40040)
      await gateway.use((g) => g.open(region(), path, next()))
      assert.strictEqual((await probe.connect("live", topology.publicAddress, 40040, topology.clientAddress)).event, "connected")
      assert.deepInclude(await probe.echo("live", "before"), { event: "echo", data: "before" })
      const flows = () =>
        inNs(topology.regional, ["conntrack", "-L", "-p", "tcp", "--orig-port-dst", "40040"]).then(
          (out) =>
            out
              .trim()
              .split("\n")
              .filter((line) => line.includes("dport=40040")).length
        )
      assert.strictEqual(await flows(), 1, "one tracked flow before close")
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40040 }, next()))
      assert.strictEqual(await flows(), 0, "conntrack entry deleted by close")
      const after = await probe.echo("live", "after")
      assert.notStrictEqual(after.event, "echo", JSON.stringify(after))
      assert.deepInclude(await probe.connect("new", topology.publicAddress, 40040, topology.clientAddress), {
        event: "error",
        code: "ECONNREFUSED"
      })
      await probe.end("live")
    })

    it("dies at its stop time in the kernel: new refused, open session cut, no SDK action", async () => {
      const stopAt = (Math.ceil(Date.now() / 1000) + 3) * 1000
      const path = pathOf("ga_expire", 40050, { stopAt })
      await gateway.use((g) => g.open(region(), path, next()))
      assert.strictEqual((await probe.connect("short", topology.publicAddress, 40050, topology.clientAddress)).event, "connected")
      assert.deepInclude(await probe.echo("short", "alive"), { event: "echo", data: "alive" })
      // Nothing runs the SDK from here on: the kernel alone must end the path.
      await new Promise((resolve) => setTimeout(resolve, stopAt - Date.now() + 1200))
      const cut = await probe.echo("short", "late")
      assert.notStrictEqual(cut.event, "echo", JSON.stringify(cut))
      assert.deepInclude(await probe.connect("short2", topology.publicAddress, 40050, topology.clientAddress), {
        event: "error",
        code: "ECONNREFUSED"
      })
      await probe.end("short")
      await gateway.use((g) => g.close(region(), { grantId: path.grantId, publicPort: 40050 }, next()))
      assert.deepStrictEqual(await rawTags(topology, backend), [])
    })
  })
}
