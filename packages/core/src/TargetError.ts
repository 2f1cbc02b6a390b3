/**
 * Errors of the gateways (regional server, device): one tagged error per port whose
 * `reason` says what happened and whether a retry may succeed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * - `Unreachable`: no connection to the target (retryable).
 * - `Timeout`: the target did not answer in time (retryable; the change may have landed).
 * - `StaleRevision`: the target recorded a newer revision than this change carries.
 * - `NotFound`: the artifact to change does not exist.
 * - `Rejected`: the target refused the input (not retryable).
 * - `Unknown`: anything else (retryable).
 *
 * @category schemas
 * @since 0.1.0
 */
export const TargetErrorReason = Schema.Literals(["Unreachable", "Timeout", "StaleRevision", "NotFound", "Rejected", "Unknown"])
/** @category models @since 0.1.0 */
export type TargetErrorReason = typeof TargetErrorReason.Type

const fields = {
  reason: TargetErrorReason,
  message: Schema.String,
  target: Schema.String,
  cause: Schema.optional(Schema.Defect())
}

/**
 * A failure of the regional gateway.
 *
 * @category errors
 * @since 0.1.0
 */
export class RegionalGatewayError extends Schema.TaggedError<RegionalGatewayError>()("RegionalGatewayError", fields) {
  /** Whether retrying the same operation later may succeed. */
  get retryable(): boolean {
    return this.reason !== "Rejected"
  }
}

/**
 * A failure of the device gateway.
 *
 * @category errors
 * @since 0.1.0
 */
export class DeviceGatewayError extends Schema.TaggedError<DeviceGatewayError>()("DeviceGatewayError", fields) {
  /** Whether retrying the same operation later may succeed. */
  get retryable(): boolean {
    return this.reason !== "Rejected"
  }
}
