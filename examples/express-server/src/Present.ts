/**
 * JSON shapes the API returns. The password appears in exactly one place: the response to
 * the request that created the grant (`credentials.password`); it is never logged.
 *
 * @since 0.1.0
 */
import { Facade, type Grant, type Grants } from "@transient-access/core"

/**
 * A grant as the API shows it (the stored grant has no secret).
 *
 * @category constructors
 * @since 0.1.0
 */
export const presentGrant = (grant: Grant.Grant) => ({
  id: grant.id,
  kind: grant.kind,
  deviceId: grant.deviceId,
  regionId: grant.regionId,
  accessType: grant.accessType,
  permission: grant.permission,
  source: grant.source,
  actor: grant.actor,
  createdAt: new Date(grant.createdAt).toISOString(),
  expiresAt: new Date(grant.expiresAt).toISOString(),
  username: grant.username,
  endpoint: grant.endpoint,
  forward: grant.forward,
  state: grant.state,
  ready: grant.progress.natOpen && grant.progress.deviceReady,
  progress: grant.progress,
  revokeReason: grant.revokeReason,
  revokedAt: grant.revokedAt === null ? null : new Date(grant.revokedAt).toISOString(),
  label: grant.label
})

/**
 * A grant creation result, with the credentials shown once.
 *
 * @category constructors
 * @since 0.1.0
 */
export const presentGrantResult = (result: Grants.GrantResult) => ({
  grant: presentGrant(result.grant),
  replayed: result.replayed,
  warnings: result.warnings,
  credentials:
    result.credentials === null
      ? null
      : {
          username: result.credentials.username,
          password: Facade.revealPassword(result.credentials),
          host: result.credentials.host,
          port: result.credentials.port,
          sshCommand: result.credentials.sshCommand,
          winboxAddress: result.credentials.winboxAddress
        }
})
