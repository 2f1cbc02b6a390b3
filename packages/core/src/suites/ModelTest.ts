/**
 * The model-based test of the sagas (fast-check `fc.commands`).
 *
 * Random sequences of: grant, manual revoke, clock advances past expiry, outbox relay, job
 * deliveries, duplicate / dropped / reordered deliveries, worker crashes before and after
 * applying a job, workers paused between their check and their action and resumed after a
 * revoke, device and region outages, gateway failures, device creates (user creates and
 * forward opens) delayed in the network that land late, expiry sweeps and reconciler runs — against the real engine
 * (`Grants`, `JobRunner`, `OutboxRelay`, `ExpirySweep`, `Reconciler`) on in-memory targets
 * that enforce the same fences as the real ones, under a manual clock.
 *
 * Checked after every step (safety):
 * - no two grants holding a port share a (region, port);
 * - no credential works for a `revoked` grant, nor at or after `expiresAt` (the bound ε is
 *   0 here: NAT paths, device users and forwards carry `expiresAt` as their own stop time);
 *   a port-forward grant is usable only while its forward is listed **and enabled**;
 * - no revoked grant keeps an enabled device user or an enabled forward;
 * - the SDK never issues a create or enable (`createUser`, `enableUser`, `openForward`,
 *   `enableForward`) for a grant that was not live when the step began (a create delayed
 *   in the network may still *land* later — disabled).
 * Checked after healing every fault and draining (liveness):
 * - no NAT path, device user or forward remains for a grant that is not live;
 * - after every grant expired: every grant is `revoked`, nothing remains on any target and
 *   every port is free.
 *
 * The store and queue can be replaced (e.g. PostgreSQL, Redis) to run the same model
 * against real adapters; queue faults then apply only if the queue is the in-memory one.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as References from "effect/References"
import * as fc from "fast-check"
import { DeviceGateway } from "../DeviceGateway.ts"
import type { DeviceForwardSpec, DeviceUserSpec } from "../DeviceGateway.ts"
import { execute } from "../internal/executor/execute.ts"
import { ExecutorFaults } from "../testing/ExecutorFaults.ts"
import { sweepOnce } from "../ExpirySweep.ts"
import * as Engine from "../Engine.ts"
import { isLive, portHoldingStates } from "../Grant.ts"
import type { Grant } from "../Grant.ts"
import { Grants } from "../Grants.ts"
import { GrantStore } from "../GrantStore.ts"
import type { ActorId, DeviceId, RegionId } from "../Ids.ts"
import { JobQueue } from "../JobQueue.ts"
import { handle, runOnce } from "../JobRunner.ts"
import * as MemoryDeviceGateway from "../testing/MemoryDeviceGateway.ts"
import * as MemoryJobQueue from "../testing/MemoryJobQueueControl.ts"
import * as MemoryRegionalGateway from "../testing/MemoryRegionalGateway.ts"
import { relayOnce } from "../OutboxRelay.ts"
import * as Policy from "../Policy.ts"
import { reconcileOnce } from "../Reconciler.ts"
import { RegionalGateway } from "../RegionalGateway.ts"
import { DeviceGatewayError } from "../TargetError.ts"
import type { Device, Region } from "../Topology.ts"
import * as ManualClock from "../testing/ManualClock.ts"

/**
 * Options of a model run.
 *
 * @category testing
 * @since 0.1.0
 */
export interface ModelOptions {
  readonly numRuns?: number
  readonly maxCommands?: number
  readonly seed?: number
  readonly path?: string
  /** Deliberately break the executor (to prove that the model finds the bug). */
  readonly fencing?: boolean
  readonly idempotentRemove?: boolean
  /** Run the reconciler (default true). */
  readonly reconciler?: boolean
  /** A fresh store layer per run (default: the in-memory store). Must use Effect's `Clock`. */
  readonly store?: () => Layer.Layer<GrantStore, unknown>
  /** A fresh queue layer per run (default: the in-memory queue, with fault injection). */
  readonly queue?: () => Layer.Layer<JobQueue, unknown>
  /**
   * A fresh device gateway per run (default: the in-memory one). It receives the model's
   * devices (ids `d1`…`d3`) and returns the records to use (same ids; addresses and ports
   * may change), the gateway, and a raw probe of the users each device holds.
   */
  readonly device?: (devices: ReadonlyArray<Device>) => Promise<ModelDevice>
  /** Called once per run after it ends (e.g. to drop a database schema). */
  readonly afterRun?: () => Promise<void>
}

/**
 * A device gateway under test in the model, with the probes the invariants need.
 *
 * @category testing
 * @since 0.1.0
 */
export interface ModelDevice {
  readonly devices: ReadonlyArray<Device>
  readonly gateway: DeviceGateway["Service"]
  /** The users the device holds (enabled or not), read from the device itself, bypassing faults. */
  readonly users: (deviceId: DeviceId) => Effect.Effect<ReadonlyArray<{ readonly username: string; readonly disabled: boolean }>, unknown>
  /**
   * The forwards the device holds (enabled or not), by grant id, read from the device itself
   * (optional: port-forward grants are skipped without it).
   */
  readonly forwards?: (
    deviceId: DeviceId
  ) => Effect.Effect<ReadonlyArray<{ readonly grantId: string; readonly disabled: boolean }>, unknown>
  /** Takes the device off the network (optional: the command is skipped without it). */
  readonly setOffline?: (deviceId: DeviceId, offline: boolean) => Effect.Effect<void>
  /** Releases what the factory started. */
  readonly close?: () => Promise<void>
}

/** The model clock's starting time (epoch ms). */
export const start = Date.UTC(2026, 0, 1)
const minute = 60_000

/** The topology of every run: a small port range to provoke contention. */
export const regions: ReadonlyArray<Region> = [
  { id: "r1" as RegionId, endpointHost: "203.0.113.10", portRange: { from: 40000, to: 40003 }, tunnelAddress: "10.255.0.1" },
  { id: "r2" as RegionId, endpointHost: "203.0.113.20", portRange: { from: 41000, to: 41999 }, tunnelAddress: "10.255.1.1" }
]
/** Devices of every run. */
export const devices: ReadonlyArray<Device> = [
  {
    id: "d1" as DeviceId,
    regionId: "r1" as RegionId,
    tunnelAddress: "10.255.0.11",
    ports: { ssh: 22, winbox: 8291, api: 8728 },
    mode: "push",
    lanAddresses: ["192.168.88.1/24"]
  },
  {
    id: "d2" as DeviceId,
    regionId: "r1" as RegionId,
    tunnelAddress: "10.255.0.12",
    ports: { ssh: 22, winbox: 8291, api: 8728 },
    mode: "push",
    lanAddresses: ["192.168.88.1/24"]
  },
  {
    id: "d3" as DeviceId,
    regionId: "r2" as RegionId,
    tunnelAddress: "10.255.1.13",
    ports: { ssh: 22, winbox: 8291, api: 8728 },
    mode: "push",
    lanAddresses: ["192.168.88.1/24"]
  }
]
const actor: Policy.Actor = { id: "model" as ActorId, roles: ["admin"] }

interface Paused {
  readonly fiber: Fiber.Fiber<void, unknown>
  readonly gate: Deferred.Deferred<void>
}

/** One run's system under test and the observations the invariants need. */
class World {
  readonly clock = ManualClock.make(start)
  readonly violations: Array<string> = []
  /**
   * Creates/enables the SDK issued during the current step (not late landings), by the
   * artifact's key: the user name for users, the grant id for forwards.
   */
  issued: Array<{ readonly op: string; readonly key: string }> = []
  /** Device creates (user creates, forward opens) held back "in the network", landed by `LandLate`. */
  held: Array<Effect.Effect<void, unknown>> = []
  delayNextCreate = 0
  paused: Array<Paused> = []
  grantIds: Array<string> = []
  runtime!: ManagedRuntime.ManagedRuntime<Engine.Services, unknown>
  regional!: MemoryRegionalGateway.MemoryRegionalGatewayControl["Service"]
  device!: Omit<ModelDevice, "devices" | "gateway">
  devices: ReadonlyArray<Device> = devices
  deviceFailNext: MemoryDeviceGateway.MemoryDeviceGatewayControl["Service"]["failNext"] | undefined
  queueControl: MemoryJobQueue.MemoryJobQueueControl["Service"] | undefined
  readonly options: ModelOptions

  constructor(options: ModelOptions) {
    this.options = options
  }

  async init(): Promise<void> {
    const regionalParts = await Effect.runPromise(MemoryRegionalGateway.make())
    let inner: DeviceGateway["Service"]
    if (this.options.device !== undefined) {
      const custom = await this.options.device(devices)
      this.devices = custom.devices
      this.device = custom
      inner = custom.gateway
    } else {
      const deviceParts = await Effect.runPromise(MemoryDeviceGateway.make())
      this.device = {
        users: (deviceId) => deviceParts.control.users(deviceId),
        forwards: (deviceId) => deviceParts.control.forwards(deviceId),
        setOffline: (deviceId, offline) => deviceParts.control.setOffline(deviceId, offline)
      }
      this.deviceFailNext = deviceParts.control.failNext
      inner = deviceParts.gateway
    }
    this.regional = regionalParts.control
    let queueLayer: Layer.Layer<JobQueue, unknown>
    if (this.options.queue !== undefined) {
      queueLayer = this.options.queue()
    } else {
      const queueParts = await Effect.runPromise(MemoryJobQueue.make({ leaseMs: 30_000 }))
      this.queueControl = queueParts.control
      queueLayer = Layer.succeed(JobQueue, queueParts.queue)
    }
    const wrapped: DeviceGateway["Service"] = {
      ...inner,
      createUser: (device: Device, spec: DeviceUserSpec) =>
        this.issue(device, "create", spec.username, inner.createUser(device, spec), true),
      enableUser: (device, username) => this.issue(device, "enable", username, inner.enableUser(device, username), false),
      openForward: (device: Device, forward: DeviceForwardSpec) =>
        this.issue(device, "forward open", forward.grantId, inner.openForward(device, forward), true),
      enableForward: (device, grantId) => this.issue(device, "forward enable", grantId, inner.enableForward(device, grantId), false)
    }
    const layer = Engine.layer({
      regional: Layer.succeed(RegionalGateway, regionalParts.gateway),
      device: Layer.succeed(DeviceGateway, wrapped),
      devices: this.devices,
      regions,
      policy: Policy.layerAllowAll,
      ...(this.options.store !== undefined ? { store: this.options.store() } : {}),
      queue: queueLayer,
      settings: { provisionAttempts: 6, stuckAfterAttempts: 4, retryBaseMs: 1_000, retryMaxMs: 60_000, republishAfterMs: 5 * minute }
    })
    this.runtime = ManagedRuntime.make(layer.pipe(Layer.provide(Layer.succeed(Clock.Clock, this.clock.clock))))
  }

  /**
   * Records a create or enable the SDK issues; a create may be held back "in the network"
   * (it times out now and lands later).
   */
  issue(
    device: Device,
    op: string,
    key: string,
    effect: Effect.Effect<void, DeviceGatewayError>,
    delayable: boolean
  ): Effect.Effect<void, DeviceGatewayError> {
    return Effect.suspend(() => {
      this.issued.push({ op, key })
      if (delayable && this.delayNextCreate > 0) {
        this.delayNextCreate--
        this.held.push(effect)
        return Effect.fail(new DeviceGatewayError({ reason: "Timeout", message: "no answer in time", target: device.id }))
      }
      return effect
    })
  }

  /** The run's executor options, clock and silence, with an optional pause point. */
  provide<A, E>(
    effect: Effect.Effect<A, E, Engine.Services>,
    beforeAct: () => Effect.Effect<void> = () => Effect.void
  ): Effect.Effect<A, E, Engine.Services> {
    return effect.pipe(
      Effect.provideService(ExecutorFaults, {
        fencing: this.options.fencing ?? true,
        idempotentRemove: this.options.idempotentRemove ?? true,
        beforeAct
      }),
      Effect.provideService(Clock.Clock, this.clock.clock),
      Effect.provideService(References.MinimumLogLevel, "None")
    )
  }

  run<A, E>(effect: Effect.Effect<A, E, Engine.Services>): Promise<A> {
    return this.runtime.runPromise(this.provide(effect))
  }

  allGrants(): Promise<ReadonlyArray<Grant>> {
    return this.run(GrantStore.use((store) => store.list({ limit: 100_000 })))
  }

  async usable(grant: Grant): Promise<boolean> {
    const now = this.clock.now()
    const region = regions.find((candidate) => candidate.id === grant.regionId) as Region
    const paths = await this.run(this.regional.paths(region.id))
    const path = paths.find((candidate) => candidate.grantId === grant.id)
    if (path === undefined || now >= path.stopAt) return false
    if (grant.kind === "port-forward") {
      const forwards = this.device.forwards
      if (forwards === undefined) return false
      return (await this.run(Effect.orDie(forwards(grant.deviceId)))).some((forward) => forward.grantId === grant.id && !forward.disabled)
    }
    const users = await this.run(Effect.orDie(this.device.users(grant.deviceId)))
    const user = users.find((candidate) => candidate.username === grant.username)
    return user !== undefined && !user.disabled
  }

  /** Runs one step and checks the safety invariants around it. */
  async step(name: string, body: () => Promise<void>): Promise<void> {
    const before = await this.allGrants()
    const nowBefore = this.clock.now()
    const notLive = new Set(before.filter((grant) => !isLive(grant, nowBefore)).flatMap((grant) => [grant.username, grant.id as string]))
    this.issued = []
    await body()
    for (const issued of this.issued) {
      if (notLive.has(issued.key)) this.violations.push(`${name}: ${issued.op} issued for ${issued.key}, not live when the step began`)
    }
    await this.checkSafety(name)
  }

  async checkSafety(name: string): Promise<void> {
    const grants = await this.allGrants()
    const now = this.clock.now()
    const held = new Map<string, string>()
    for (const grant of grants) {
      if (portHoldingStates.includes(grant.state)) {
        const key = `${grant.regionId}:${grant.endpoint.port}`
        const other = held.get(key)
        if (other !== undefined) this.violations.push(`${name}: ${grant.id} and ${other} share port ${key}`)
        held.set(key, grant.id)
      }
      if (grant.state === "revoked" && grant.kind === "access") {
        // Whatever path: an enabled user of a revoked grant could be reached through another
        // grant's path (every model grant shares one source range).
        const users = await this.run(Effect.orDie(this.device.users(grant.deviceId)))
        if (users.some((user) => user.username === grant.username && !user.disabled)) {
          this.violations.push(`${name}: revoked grant ${grant.id} still has an enabled user on ${grant.deviceId}`)
        }
      }
      const forwards = this.device.forwards
      if (grant.state === "revoked" && grant.kind === "port-forward" && forwards !== undefined) {
        const listed = await this.run(Effect.orDie(forwards(grant.deviceId)))
        if (listed.some((forward) => forward.grantId === grant.id && !forward.disabled)) {
          this.violations.push(`${name}: revoked grant ${grant.id} still has an enabled forward on ${grant.deviceId}`)
        }
      }
      if ((grant.state === "revoked" || now >= grant.expiresAt) && (await this.usable(grant))) {
        this.violations.push(`${name}: credential of ${grant.id} (${grant.state}) works at +${now - grant.expiresAt} ms past expiry`)
      }
    }
  }

  assertNoViolation(): void {
    if (this.violations.length > 0) throw new Error(`invariant violated:\n${this.violations.join("\n")}`)
  }

  /** Heals every fault and runs the workers to a fixpoint. */
  async drain(rounds: number, advanceMs: number): Promise<void> {
    for (const paused of this.paused) {
      await this.run(Deferred.succeed(paused.gate, undefined))
      await this.run(Fiber.await(paused.fiber))
    }
    this.paused = []
    await this.checkSafety("drain: after resuming paused workers")
    for (const landing of this.held) await this.run(Effect.ignore(landing))
    this.held = []
    this.delayNextCreate = 0
    if (this.queueControl !== undefined) await this.run(this.queueControl.clearFaults)
    for (const region of regions) await this.run(this.regional.setOffline(region.id, false))
    const setOffline = this.device.setOffline
    if (setOffline !== undefined) for (const device of this.devices) await this.run(setOffline(device.id, false))
    for (let round = 0; round < rounds; round++) {
      this.clock.advance(advanceMs)
      await this.run(relayOnce())
      for (let batch = 0; batch < 50; batch++) {
        const handled = await this.run(runOnce({ consumer: "drain", max: 16 }))
        if (handled === 0) break
      }
      await this.run(sweepOnce())
      if (this.options.reconciler ?? true) await this.run(reconcileOnce())
    }
  }

  /** No artifact remains for a grant that is not live. */
  async checkNoLeftovers(label: string): Promise<void> {
    const grants = await this.allGrants()
    const now = this.clock.now()
    const live = new Set(grants.filter((grant) => isLive(grant, now)).map((grant) => grant.id as string))
    const liveUsers = new Set(grants.filter((grant) => isLive(grant, now)).map((grant) => grant.username))
    for (const region of regions) {
      for (const path of await this.run(this.regional.paths(region.id))) {
        if (!live.has(path.grantId)) this.violations.push(`${label}: NAT path of non-live grant ${path.grantId} remains`)
      }
    }
    for (const device of this.devices) {
      for (const user of await this.run(Effect.orDie(this.device.users(device.id)))) {
        if (!liveUsers.has(user.username)) this.violations.push(`${label}: device user ${user.username} of a non-live grant remains`)
      }
      const forwards = this.device.forwards
      if (forwards === undefined) continue
      for (const forward of await this.run(Effect.orDie(forwards(device.id)))) {
        if (!live.has(forward.grantId)) this.violations.push(`${label}: device forward of non-live grant ${forward.grantId} remains`)
      }
    }
  }

  async checkAllRevoked(): Promise<void> {
    const grants = await this.allGrants()
    for (const grant of grants) {
      if (grant.state !== "revoked") this.violations.push(`end: ${grant.id} is ${grant.state}, not revoked`)
    }
    for (const region of regions) {
      const held = await this.run(GrantStore.use((store) => store.heldPorts(region.id, 0)))
      if (held.length > 0) this.violations.push(`end: ports still held in ${region.id}: ${held.join(",")}`)
    }
  }
}

type Model = { grants: number; paused: number; held: number }
type Command = fc.AsyncCommand<Model, World, true>

const command = (label: string, check: (model: Model) => boolean, body: (model: Model, world: World) => Promise<void>): Command => ({
  check: async (model) => check(model),
  run: (model, world) => world.step(label, () => body(model, world)),
  toString: () => label
})

const grantCommand = fc
  .record({
    device: fc.integer({ min: 0, max: devices.length - 1 }),
    ttlMinutes: fc.constantFrom(1, 5, 30, 120, 1440),
    permission: fc.constantFrom("full" as const, "read-only" as const),
    forward: fc.integer({ min: 0, max: 3 }).map((value) => value === 0)
  })
  .map(({ device, ttlMinutes, permission, forward }) =>
    command(
      `Grant(d${device + 1}, ${ttlMinutes}m, ${forward ? "port-forward" : permission})`,
      () => true,
      async (model, world) => {
        if (forward && world.device.forwards === undefined) return
        const result = await world.run(
          Effect.result(
            Grants.use((grants) =>
              grants.grant(actor, {
                deviceId: devices[device]!.id,
                accessType: "ssh",
                permission,
                source: "198.51.100.0/24",
                ttlSeconds: ttlMinutes * 60,
                ...(forward ? { kind: "port-forward", forward: { address: "192.168.88.10", port: 443 } } : {})
              })
            )
          )
        )
        if (result._tag === "Success") {
          world.grantIds.push(result.success.grant.id)
          model.grants++
        } else if (result.failure._tag !== "PortsExhausted") {
          world.violations.push(`grant failed unexpectedly: ${result.failure._tag}`)
        }
      }
    )
  )

const revokeCommand = fc.nat().map((pick) =>
  command(
    `Revoke(#${pick})`,
    (model) => model.grants > 0,
    async (_model, world) => {
      const id = world.grantIds[pick % world.grantIds.length]!
      await world.run(Effect.ignore(Grants.use((grants) => grants.revoke(actor, id as Grant["id"]))))
    }
  )
)

const advanceCommand = fc.constantFrom(1_000, 20_000, 2 * minute, 10 * minute, 3 * 60 * minute).map((ms) =>
  command(
    `Advance(${ms}ms)`,
    () => true,
    async (_model, world) => {
      world.clock.advance(ms)
    }
  )
)

const relayCommand = fc.constant(
  command(
    "Relay",
    () => true,
    async (_model, world) => {
      await world.run(relayOnce())
    }
  )
)

const deliverCommand = fc.integer({ min: 1, max: 4 }).map((max) =>
  command(
    `Deliver(${max})`,
    () => true,
    async (_model, world) => {
      await world.run(relayOnce())
      await world.run(runOnce({ consumer: "worker-a", max }))
    }
  )
)

const crashBeforeCommand = fc.constant(
  command(
    "CrashBeforeApply",
    () => true,
    async (_model, world) => {
      // A worker takes a delivery and dies before doing anything: the lease expires later.
      await world.run(relayOnce())
      await world.run(JobQueue.use((queue) => queue.poll({ consumer: "crashing", max: 1 })))
    }
  )
)

const crashAfterCommand = fc.constant(
  command(
    "CrashAfterApply",
    () => true,
    async (_model, world) => {
      // A worker applies a job and dies before acknowledging it: it will run again.
      await world.run(relayOnce())
      const deliveries = await world.run(JobQueue.use((queue) => queue.poll({ consumer: "crashing", max: 1 })))
      for (const delivery of deliveries) await world.run(Effect.ignore(execute(delivery.job)))
    }
  )
)

const pauseCommand = fc.nat().map((pick) =>
  command(
    `DeliverAndPause(#${pick})`,
    (model) => model.paused < 2,
    async (model, world) => {
      // A worker takes up to 4 deliveries; the chosen one pauses right before it acts, the
      // others run normally.
      await world.run(relayOnce())
      const deliveries = await world.run(JobQueue.use((queue) => queue.poll({ consumer: "pausing", max: 4 })))
      if (deliveries.length === 0) return
      const chosen = pick % deliveries.length
      for (const [index, delivery] of deliveries.entries()) {
        if (index !== chosen) await world.run(Effect.ignore(handle(delivery)))
      }
      const delivery = deliveries[chosen]!
      const reached = await world.run(Deferred.make<void>())
      const gate = await world.run(Deferred.make<void>())
      const fiber = world.runtime.runFork(
        world.provide(Effect.ignore(handle(delivery)), () =>
          Effect.gen(function* () {
            yield* Deferred.succeed(reached, undefined)
            yield* Deferred.await(gate)
          })
        )
      )
      const outcome = await Promise.race([
        world.run(Deferred.await(reached)).then(() => "paused" as const),
        world.run(Fiber.await(fiber)).then(() => "finished" as const)
      ])
      if (outcome === "paused") {
        world.paused.push({ fiber, gate })
        model.paused++
      }
    }
  )
)

const resumeCommand = fc.nat().map((pick) =>
  command(
    `Resume(#${pick})`,
    (model) => model.paused > 0,
    async (model, world) => {
      if (world.paused.length === 0) return
      const [paused] = world.paused.splice(pick % world.paused.length, 1)
      model.paused--
      await world.run(Deferred.succeed(paused!.gate, undefined))
      const exit = await world.run(Fiber.await(paused!.fiber))
      if (Exit.isFailure(exit)) world.violations.push("a resumed worker died")
    }
  )
)

/** The next device create — a user create or a forward open — is held "in the network". */
const delayCreateCommand = fc.constant(
  command(
    "DelayNextCreateInNetwork",
    () => true,
    async (model, world) => {
      world.delayNextCreate++
      model.held++
    }
  )
)

const landLateCommand = fc.constant(
  command(
    "LandLateCreates",
    (model) => model.held > 0,
    async (model, world) => {
      for (const landing of world.held) await world.run(Effect.ignore(landing))
      world.held = []
      model.held = 0
    }
  )
)

const offlineCommand = fc.record({ device: fc.boolean(), index: fc.nat(), offline: fc.boolean() }).map(({ device, index, offline }) =>
  command(
    `${device ? "Device" : "Region"}Offline(#${index}, ${offline})`,
    () => true,
    async (_model, world) => {
      const setOffline = world.device.setOffline
      if (device && setOffline !== undefined) await world.run(setOffline(devices[index % devices.length]!.id, offline))
      else await world.run(world.regional.setOffline(regions[index % regions.length]!.id, offline))
    }
  )
)

const failNextCommand = fc
  .record({
    device: fc.boolean(),
    index: fc.nat(),
    count: fc.integer({ min: 1, max: 3 }),
    afterApply: fc.boolean(),
    reason: fc.constantFrom("Timeout" as const, "Timeout" as const, "Unknown" as const, "Rejected" as const)
  })
  .map(({ device, index, count, afterApply, reason }) =>
    command(
      `${device ? "Device" : "Region"}FailNext(#${index}, ${count}, ${reason}${afterApply ? ", reply lost" : ""})`,
      () => true,
      async (_model, world) => {
        if (device && world.deviceFailNext !== undefined) {
          await world.run(world.deviceFailNext(devices[index % devices.length]!.id, count, reason, { afterApply }))
        } else if (device) return
        else await world.run(world.regional.failNext(regions[index % regions.length]!.id, count, reason, { afterApply }))
      }
    )
  )

const queueFaultCommand = fc
  .record({ kind: fc.constantFrom("duplicate", "drop", "reorder", "fifo"), seed: fc.nat() })
  .map(({ kind, seed }) =>
    command(
      `Queue(${kind})`,
      () => true,
      async (_model, world) => {
        const control = world.queueControl
        if (control === undefined) return
        if (kind === "duplicate") await world.run(control.duplicateNext(2))
        else if (kind === "drop") await world.run(control.dropNext(2))
        else if (kind === "reorder") {
          let state = seed
          await world.run(
            control.reorder((max) => {
              state = (state * 1103515245 + 12345) % 2147483648
              return state % max
            })
          )
        } else await world.run(control.reorder(null))
      }
    )
  )

const sweepCommand = fc.constant(
  command(
    "Sweep",
    () => true,
    async (_model, world) => {
      await world.run(sweepOnce())
    }
  )
)

const reconcileCommand = fc.constant(
  command(
    "Reconcile",
    () => true,
    async (_model, world) => {
      if (world.options.reconciler ?? true) await world.run(reconcileOnce())
    }
  )
)

/**
 * The property: any command sequence keeps the safety invariants and drains to nothing.
 *
 * @category testing
 * @since 0.1.0
 */
export const property = (options: ModelOptions = {}) =>
  fc.asyncProperty(
    fc.commands(
      [
        grantCommand,
        grantCommand,
        grantCommand,
        revokeCommand,
        revokeCommand,
        advanceCommand,
        relayCommand,
        deliverCommand,
        deliverCommand,
        deliverCommand,
        pauseCommand,
        resumeCommand,
        crashBeforeCommand,
        crashAfterCommand,
        pauseCommand,
        resumeCommand,
        delayCreateCommand,
        delayCreateCommand,
        landLateCommand,
        landLateCommand,
        offlineCommand,
        failNextCommand,
        queueFaultCommand,
        sweepCommand,
        reconcileCommand
      ],
      { maxCommands: options.maxCommands ?? 60, size: "large" }
    ),
    async (commands) => {
      const world = new World(options)
      await world.init()
      try {
        await fc.asyncModelRun(() => ({ model: { grants: 0, paused: 0, held: 0 }, real: world }), commands)
        world.assertNoViolation()
        await world.drain(12, 5 * minute)
        await world.checkNoLeftovers("after drain")
        world.assertNoViolation()
        world.clock.advance(25 * 60 * minute)
        await world.drain(8, 5 * minute)
        await world.checkNoLeftovers("after expiry")
        await world.checkAllRevoked()
        if (process.env.TA_MODEL_DEBUG !== undefined) {
          const grants = await world.allGrants()
          console.log(`${commands.toString()}\n  -> ${grants.length} grants, paused=${world.paused.length}`)
        }
        world.assertNoViolation()
      } finally {
        await world.runtime.dispose()
        await world.device.close?.()
        await options.afterRun?.()
      }
    }
  )

/**
 * Runs the model with `fc.assert` (throws with the seed and path of a counterexample).
 *
 * @category testing
 * @since 0.1.0
 */
export const run = (options: ModelOptions = {}): Promise<void> =>
  fc.assert(property(options), {
    numRuns: options.numRuns ?? 200,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.path !== undefined ? { path: options.path } : {})
  })

/**
 * Runs the model with `fc.check` and returns fast-check's report (used to show that a
 * broken executor IS caught).
 *
 * @category testing
 * @since 0.1.0
 */
export const check = (options: ModelOptions = {}) =>
  fc.check(property(options), {
    numRuns: options.numRuns ?? 200,
    ...(options.seed !== undefined ? { seed: options.seed } : {})
  })

void GrantStore
