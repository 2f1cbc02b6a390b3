/**
 * What a caller asks for, as a Schema: the body of a grant request at every boundary
 * (HTTP, CLI, facade).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AccessType, GrantKind, Permission, PortNumber } from "./Grant.ts"
import { DeviceId } from "./Ids.ts"

/**
 * Free text a person typed (a label, a note): at most `maxLength` characters and no control
 * characters (C0, DEL, C1 — a NUL byte among them, which PostgreSQL cannot store in text):
 * refused at the schema, so no store ever sees one.
 *
 * @category schemas
 * @since 0.2.0
 */
export const FreeText = (maxLength: number) =>
  Schema.String.check(
    Schema.isMaxLength(maxLength),
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    Schema.makeFilter((value: string) => !/[\u0000-\u001f\u007f-\u009f]/.test(value) || "control characters are not allowed")
  )

/**
 * A request for transient access to a device (or a port forward through it).
 *
 * - `source`: the CIDR allowed to connect; defaults to the caller's own address.
 * - `ttlSeconds`: lifetime; must lie within the engine's limits (1 min … 24 h by
 *   default). Longer is rejected, never clamped.
 * - `forward`: for `kind: "port-forward"`, the LAN host and port behind the router.
 *
 * @category schemas
 * @since 0.1.0
 */
export const GrantRequest = Schema.Struct({
  deviceId: DeviceId,
  kind: Schema.optionalKey(GrantKind),
  accessType: AccessType,
  permission: Permission,
  source: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(64))),
  ttlSeconds: Schema.Int.check(Schema.isGreaterThan(0)),
  forward: Schema.optionalKey(Schema.Struct({ address: Schema.String.check(Schema.isMaxLength(64)), port: PortNumber })),
  label: Schema.optionalKey(FreeText(200))
})
/** @category models @since 0.1.0 */
export type GrantRequest = typeof GrantRequest.Type
/** @category models @since 0.1.0 */
export type GrantRequestEncoded = typeof GrantRequest.Encoded

/**
 * Decodes an unknown value into a `GrantRequest` (all issues reported).
 *
 * @category constructors
 * @since 0.1.0
 */
export const decode = Schema.decodeUnknownEffect(GrantRequest)
