/**
 * The CLI's commands: `grant`, `list`, `revoke`, `watch`. Each prints a human view, or one
 * JSON document (`--json`; `watch --json` prints one JSON object per state change).
 *
 * @since 0.1.0
 */
import type { ApiGrant, Client } from "./Client.ts"
import { formatRemaining, grantsTable, progressLine } from "./Format.ts"

/**
 * Where output goes (tests capture it).
 *
 * @category models
 * @since 0.1.0
 */
export interface Output {
  readonly line: (text: string) => void
  /** Rewrites the current line on a terminal (progress); plain lines elsewhere. */
  readonly progress: (text: string) => void
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Polls a grant until it is ready (`active` and provisioned), or gone; reports each change.
 *
 * @category constructors
 * @since 0.1.0
 */
export const watch = async (
  client: Client,
  grantId: string,
  options: { readonly json: boolean; readonly timeoutMs: number; readonly intervalMs?: number },
  output: Output
): Promise<ApiGrant> => {
  const deadline = Date.now() + options.timeoutMs
  let last = ""
  for (;;) {
    const grant = await client.get(grantId)
    const view = options.json ? JSON.stringify({ event: "progress", grant }) : progressLine(grant)
    if (view !== last) {
      if (options.json) output.line(view)
      else output.progress(view)
      last = view
    }
    const settled = grant.state === "revoked" || (grant.state === "active" && grant.ready)
    if (settled || Date.now() > deadline) {
      if (!options.json) output.progress("")
      return grant
    }
    await sleep(options.intervalMs ?? 250)
  }
}

/**
 * `grant <device>`: requests access (or a port forward), prints the credentials once,
 * optionally waits until the path and the user (or the router's forward) are in place.
 *
 * @category constructors
 * @since 0.1.0
 */
export const grant = async (
  client: Client,
  input: {
    readonly deviceId: string
    readonly body: Record<string, unknown>
    readonly idempotencyKey?: string
    readonly wait: boolean
    readonly json: boolean
  },
  output: Output
): Promise<void> => {
  const created = await client.grant(input.deviceId, input.body, input.idempotencyKey)
  const final = input.wait ? await watch(client, created.grant.id, { json: input.json, timeoutMs: 60_000 }, output) : created.grant
  if (input.json) {
    output.line(JSON.stringify({ ...created, grant: final }))
    return
  }
  for (const warning of created.warnings) output.line(`warning: ${warning}`)
  if (final.kind === "port-forward" && final.forward !== null) {
    output.line(
      `Grant ${final.id} (${final.state}${final.ready ? ", ready" : ""}), expires in ${formatRemaining(Date.parse(final.expiresAt) - Date.now())}`
    )
    output.line(`  endpoint  ${final.endpoint.host}`)
    output.line(`  port      ${final.endpoint.port}`)
    output.line(`  forwards  ${final.forward.address}:${final.forward.port}    (from ${final.source} only)`)
    return
  }
  if (created.credentials === null) {
    output.line(`Grant ${final.id} already existed (idempotent replay): the password is not shown again.`)
    return
  }
  const c = created.credentials
  output.line(
    `Grant ${final.id} (${final.state}${final.ready ? ", ready" : ""}), expires in ${formatRemaining(Date.parse(final.expiresAt) - Date.now())}`
  )
  output.line(`  endpoint  ${c.host}`)
  output.line(`  port      ${c.port}`)
  output.line(`  username  ${c.username}`)
  output.line(`  password  ${c.password}    (shown once)`)
  if (c.sshCommand !== null) output.line(`  ssh       ssh ${c.username}@${c.host} -p ${c.port}`)
  if (c.winboxAddress !== null) output.line(`  winbox    ${c.winboxAddress}`)
}

/**
 * `list <device>`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const list = async (
  client: Client,
  input: { readonly deviceId: string; readonly states?: string; readonly json: boolean },
  output: Output
) => {
  const grants = await client.list(input.deviceId, input.states)
  output.line(input.json ? JSON.stringify({ grants }) : grantsTable(grants, Date.now()))
}

/**
 * `revoke <grant>`; with `wait`, follows it until every artifact is confirmed gone.
 *
 * @category constructors
 * @since 0.1.0
 */
export const revoke = async (
  client: Client,
  input: { readonly grantId: string; readonly wait: boolean; readonly json: boolean },
  output: Output
) => {
  const revoked = await client.revoke(input.grantId)
  const final = input.wait ? await watch(client, revoked.id, { json: input.json, timeoutMs: 60_000 }, output) : revoked
  output.line(
    input.json
      ? JSON.stringify({ grant: final })
      : `Grant ${final.id} is ${final.state}${final.revokeReason === null ? "" : ` (${final.revokeReason})`}.`
  )
}
