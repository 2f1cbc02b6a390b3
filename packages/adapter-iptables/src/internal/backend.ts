/**
 * What the gateway needs from a netfilter backend: read the server's state (paths and the
 * recorded revision) and apply one change atomically against the state it read.
 *
 * @since 0.1.0
 */
import type { TargetError, Topology } from "@transient-access/core"
import type * as Effect from "effect/Effect"
import type { StoredPath, ValidPath } from "./path.ts"

/** The server's state as last read or written. `token` is the backend's compare-and-set witness. */
export interface Snapshot {
  readonly revision: number
  readonly paths: ReadonlyArray<StoredPath>
  readonly token: unknown
}

/** One change: record `revision`, remove `remove`, then add `add`. */
export interface Change {
  readonly revision: number
  readonly add: ValidPath | undefined
  readonly remove: ReadonlyArray<StoredPath>
}

/** `Conflict`: the server changed since the snapshot was read (or the batch failed); reload and retry. */
export type CommitOutcome =
  | { readonly _tag: "Committed"; readonly snapshot: Snapshot }
  | { readonly _tag: "Conflict"; readonly message: string }

/** A netfilter backend. */
export interface Backend {
  readonly name: "iptables" | "nftables"
  /** Reads the full state; installs or repairs the base layout lazily (on the next commit). */
  readonly load: (region: Topology.Region) => Effect.Effect<Snapshot, TargetError.RegionalGatewayError>
  /** Reads only the recorded revision. */
  readonly revision: (region: Topology.Region) => Effect.Effect<number, TargetError.RegionalGatewayError>
  /** Applies `change` if the server still is as `snapshot` says. `now` is epoch ms. */
  readonly commit: (
    region: Topology.Region,
    snapshot: Snapshot,
    change: Change,
    now: number
  ) => Effect.Effect<CommitOutcome, TargetError.RegionalGatewayError>
}
