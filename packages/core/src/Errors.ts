/**
 * Errors the SDK's public operations fail with, beside those of the ports
 * (`StoreError`, `GrantNotFound`, `IdempotencyConflict`, `PolicyDenied`, `DeviceNotFound`,
 * `RegionNotFound`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The request is malformed or outside the limits (bad CIDR, TTL out of range, unknown
 * access type …). Nothing was written.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  /** The offending field (`source`, `ttl`, …) when known. */
  field: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

/**
 * Every port of the region's range is held.
 *
 * @category errors
 * @since 0.1.0
 */
export class PortsExhausted extends Schema.TaggedError<PortsExhausted>()("PortsExhausted", {
  regionId: Schema.String,
  rangeSize: Schema.Int
}) {}

/**
 * The grant cannot be changed this way in its current state (e.g. force-revoking a grant
 * that is not revoking).
 *
 * @category errors
 * @since 0.1.0
 */
export class GrantStateConflict extends Schema.TaggedError<GrantStateConflict>()("GrantStateConflict", {
  grantId: Schema.String,
  state: Schema.String,
  message: Schema.String
}) {}
