/**
 * The contract suite of the `AuditLog` port: events come back newest first, filtered by
 * grant, limited, and exactly as recorded; the records form one hash chain, also under
 * concurrent writers, that `verify` accepts and that an auditor can verify on the export
 * alone (`verifyChain`), while any edit of an exported record is pointed at. Every audit
 * adapter runs it; so does `AuditLog.layerMemory`.
 *
 * Tests run with the live clock and a fresh layer per test; each test uses its own grant
 * ids, so a shared backend is fine.
 *
 * @since 0.1.0
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { AuditLog, verifyChain } from "../AuditLog.ts"
import type { AuditEvent } from "../AuditLog.ts"
import { randomToken } from "../internal/randomToken.ts"

/**
 * Registers the `AuditLog` contract tests for an adapter layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = (name: string, layer: Layer.Layer<AuditLog, unknown>): void => {
  describe(`${name} (AuditLog contract)`, () => {
    it.live("records events and lists them newest first, by grant, up to a limit", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        const grantId = `ga_${randomToken(20)}`
        const other = `ga_${randomToken(20)}`
        const base = Date.now()
        const steps = ["grant.create", "grant.active", "grant.revoke", "grant.revoke-stuck", "grant.revoked"] as const
        const events: Array<AuditEvent> = steps.map((action, index) => ({
          at: base + index,
          actor: index % 2 === 0 ? "alice" : "system",
          action,
          grantId,
          details: { index, note: `quote " and newline \n`, flag: index % 2 === 0, nothing: null }
        }))
        for (const event of events) yield* audit.record(event)
        yield* audit.record({ at: base, actor: "bob", action: "grant.create", grantId: other, details: {} })
        const listed = yield* audit.list({ grantId, limit: 10 })
        assert.deepStrictEqual(
          listed.map((event) => event.action),
          events.map((event) => event.action).toReversed()
        )
        assert.deepStrictEqual(listed[0], events[4])
        const limited = yield* audit.list({ grantId, limit: 2 })
        assert.deepStrictEqual(
          limited.map((event) => event.action),
          ["grant.revoked", "grant.revoke-stuck"]
        )
        const others = yield* audit.list({ grantId: other })
        assert.deepStrictEqual(
          others.map((event) => event.actor),
          ["bob"]
        )
      }).pipe(Effect.provide(layer))
    )

    it.live("the records form one hash chain, even under concurrent writers; an edited export is pointed at", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        const grantId = `ga_${randomToken(20)}`
        yield* Effect.forEach(
          Array.from({ length: 12 }, (_, index) => index),
          (index) => audit.record({ at: Date.now(), actor: "system", action: "grant.active", grantId, details: { index } }),
          { concurrency: "unbounded" }
        )
        const report = yield* audit.verify
        assert.isNull(report.broken, JSON.stringify(report))
        assert.isAtLeast(report.checked, 12)
        const exported = yield* audit.exportChain
        assert.isNull(verifyChain(exported).broken, "the export verifies on its own")
        const target = exported.findIndex((entry) => entry.event.grantId === grantId)
        const edited = exported.map((entry, index) =>
          index === target ? { ...entry, event: { ...entry.event, details: { index: 999 } } } : entry
        )
        assert.strictEqual(verifyChain(edited).broken?.position, exported[target]!.position)
        // a record removed from the middle breaks the link of the one after it
        const dropped = exported.filter((_, index) => index !== 1)
        assert.strictEqual(verifyChain(dropped).broken?.position, exported[2]!.position)
      }).pipe(Effect.provide(layer))
    )

    it.live("events without a grant are listed unfiltered", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        const marker = randomToken(12)
        yield* audit.record({ at: Date.now(), actor: "system", action: "device.bootstrap", grantId: null, details: { marker } })
        const recent = yield* audit.list({ limit: 50 })
        assert.isTrue(recent.some((event) => event.details.marker === marker && event.grantId === null))
      }).pipe(Effect.provide(layer))
    )
  })
}
