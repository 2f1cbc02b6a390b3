/**
 * Internal: the grant reads — `get`, `list`, `deviceGrants` and `heldPorts` (the ports a
 * region's pending/active/revoking grants hold, plus revoked ones inside the cool-down).
 * Each is one statement on the ambient transaction (inside `withLiveGrant`) or the pool.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { sql } from "kysely"
import { Grant as GrantModule } from "@transient-access/core"
import { toGrant, toGrants } from "../rows.ts"
import { query } from "../transaction.ts"
import type { Service, StoreContext } from "./context.ts"
import { selectGrants } from "./grantRows.ts"

const holdingStates = GrantModule.portHoldingStates

/**
 * `get`, `list`, `deviceGrants` and `heldPorts`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeGrantsRead = (context: StoreContext): Pick<Service, "get" | "list" | "deviceGrants" | "heldPorts"> => {
  const { nowSql, q, transactions } = context

  const get: Service["get"] = Effect.fn("GrantStore.get")(function* (grantId) {
    const db = yield* transactions.executor
    const row = yield* query("get", () => selectGrants(context, db).where("id", "=", grantId).executeTakeFirst())
    return row === undefined ? Option.none() : Option.some(yield* toGrant(row))
  })

  const list: Service["list"] = Effect.fn("GrantStore.list")(function* (filter) {
    const db = yield* transactions.executor
    let builder = selectGrants(context, db)
    if (filter.deviceId !== undefined) builder = builder.where("device_id", "=", filter.deviceId)
    if (filter.regionId !== undefined) builder = builder.where("region_id", "=", filter.regionId)
    if (filter.states !== undefined) {
      if (filter.states.length === 0) return []
      builder = builder.where("state", "in", filter.states)
    }
    if (filter.revokeStuck !== undefined) builder = builder.where("revoke_stuck", "=", filter.revokeStuck)
    builder = builder.orderBy("created_at_ms", "desc").orderBy("sequence", "desc")
    if (filter.limit !== undefined) builder = builder.limit(Math.max(0, Math.floor(filter.limit)))
    const rows = yield* query("list", () => builder.execute())
    return yield* toGrants(rows)
  })

  const deviceGrants: Service["deviceGrants"] = Effect.fn("GrantStore.deviceGrants")(function* (deviceId) {
    const db = yield* transactions.executor
    const rows = yield* query("device grants", () =>
      selectGrants(context, db)
        .where("device_id", "=", deviceId)
        .where("state", "<>", "revoked")
        .orderBy("created_at_ms", "desc")
        .orderBy("sequence", "desc")
        .execute()
    )
    return yield* toGrants(rows)
  })

  const heldPorts: Service["heldPorts"] = Effect.fn("GrantStore.heldPorts")(function* (regionId, cooldownMs) {
    const db = yield* transactions.executor
    const now = yield* nowSql
    const rows = yield* query("held ports", () =>
      q(db)
        .selectFrom("grants")
        .select("port")
        .distinct()
        .where("region_id", "=", regionId)
        .where((where) =>
          where.or([
            where("state", "in", holdingStates),
            where.and([where("state", "=", "revoked"), where("revoked_at_ms", ">", sql<number>`${now} - ${Math.max(0, cooldownMs)}`)])
          ])
        )
        .orderBy("port")
        .execute()
    )
    return rows.map((row) => row.port)
  })

  return { get, list, deviceGrants, heldPorts }
}
