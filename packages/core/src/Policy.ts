/**
 * The policy port: decides who may grant, revoke and read what.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { AccessType, Grant, GrantKind, Permission } from "./Grant.ts"
import { FreeText } from "./GrantRequest.ts"
import { ActorId } from "./Ids.ts"
import type { Allowance } from "./ForwardTarget.ts"
import type { Device } from "./Topology.ts"

/**
 * The caller of an operation.
 *
 * @category models
 * @since 0.1.0
 */
export interface Actor {
  readonly id: ActorId
  /** Roles the embedding platform assigned (free-form; the policy interprets them). */
  readonly roles: ReadonlyArray<string>
}

/**
 * An actor as plain data (`{ id: "alice", roles: ["operator"] }`), decoded into an
 * {@link Actor}: the id must match the id pattern.
 *
 * @category schemas
 * @since 0.2.0
 */
export const ActorInput = Schema.Struct({
  id: ActorId,
  roles: Schema.Array(FreeText(64))
})

/**
 * What an actor asks to do.
 *
 * @category models
 * @since 0.1.0
 */
export type PolicyAction =
  | {
      readonly _tag: "Grant"
      readonly actor: Actor
      readonly device: Device
      readonly kind: GrantKind
      readonly accessType: AccessType
      readonly permission: Permission
      /** Canonical source CIDR and its prefix length. */
      readonly source: string
      readonly prefixLength: number
      readonly ttlMs: number
    }
  | { readonly _tag: "Revoke"; readonly actor: Actor; readonly grant: Grant }
  | { readonly _tag: "ForceRevoke"; readonly actor: Actor; readonly grant: Grant }
  | { readonly _tag: "Read"; readonly actor: Actor; readonly grant: Grant | null }

/**
 * The actor may not do this.
 *
 * @category errors
 * @since 0.1.0
 */
export class PolicyDenied extends Schema.TaggedError<PolicyDenied>()("PolicyDenied", {
  action: Schema.String,
  message: Schema.String
}) {}

/**
 * The policy port.
 *
 * @category services
 * @since 0.1.0
 */
export class Policy extends Context.Service<
  Policy,
  {
    readonly authorize: (action: PolicyAction) => Effect.Effect<void, PolicyDenied>
    /**
     * What this policy adds to a device's port-forward targets beyond its LANs: more
     * prefixes, public targets (default: nothing; see `ForwardTarget`).
     */
    readonly forwardAllowance?: (device: Device) => Effect.Effect<Allowance>
  }
>()("@transient-access/core/Policy") {}

/**
 * Role-based rules, the default policy:
 * - `admin`: everything, including force-revoke;
 * - `operator`: full and read-only grants, revoke and read any grant;
 * - `viewer`: read-only grants only, revoke and read own grants only.
 * Actors without one of these roles are denied.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRoles: Layer.Layer<Policy> = Layer.succeed(Policy, {
  authorize: (action) => {
    const roles = action.actor.roles
    const deny = (message: string) => Effect.fail(new PolicyDenied({ action: action._tag, message }))
    if (roles.includes("admin")) return Effect.void
    switch (action._tag) {
      case "Grant":
        if (roles.includes("operator")) return Effect.void
        if (roles.includes("viewer")) {
          return action.permission === "read-only" && action.kind === "access"
            ? Effect.void
            : deny("viewers may only request read-only access")
        }
        return deny("actor has no role that may grant access")
      case "Revoke":
      case "Read":
        if (roles.includes("operator")) return Effect.void
        if (roles.includes("viewer") && (action.grant === null || action.grant.actor === action.actor.id)) {
          return Effect.void
        }
        return deny("actor may only act on its own grants")
      case "ForceRevoke":
        return deny("only admins may force-revoke")
    }
  }
})

/**
 * A policy that allows everything (tests and single-user tools only).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerAllowAll: Layer.Layer<Policy> = Layer.succeed(Policy, { authorize: () => Effect.void })
