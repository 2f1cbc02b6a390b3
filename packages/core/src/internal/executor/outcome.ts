/**
 * What became of one job run, and how target and store failures map onto it.
 */
import type { StoreError } from "../../GrantStore.ts"
import type { DeviceGatewayError, RegionalGatewayError } from "../../TargetError.ts"

/**
 * - `Done`: nothing (more) to do for this job.
 * - `Retry`: a retryable failure; run it again later.
 * - `Failed`: it can never succeed (e.g. the device rejected the input); for a create this
 *   leads to compensation (revoke as `failed`).
 */
export type Outcome =
  | { readonly _tag: "Done"; readonly note: string }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly reason: string }

/** A job step that lost a race and wants the grant reloaded and the job decided again. */
export type Step = Outcome | "again"

export const done = (note: string): Outcome => ({ _tag: "Done", note })
export const retry = (reason: string): Outcome => ({ _tag: "Retry", reason })
export const failed = (reason: string): Outcome => ({ _tag: "Failed", reason })

/** One line naming a target failure. */
export const describe = (error: RegionalGatewayError | DeviceGatewayError): string => `${error.reason}: ${error.message}`

/** A device (or store) failure during a create: retry what may pass, fail what never will. */
export const deviceFailure = (error: DeviceGatewayError | StoreError): Outcome =>
  error._tag === "StoreError"
    ? retry(`${error.reason}: ${error.message}`)
    : error.retryable
      ? retry(describe(error))
      : failed(describe(error))
