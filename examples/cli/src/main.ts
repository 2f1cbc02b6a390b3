#!/usr/bin/env node
/**
 * `transient-access`: a command-line tool over the example server's REST API.
 *
 *   transient-access grant <device> --access ssh --permission read-only --ttl 1h [--source CIDR] [--forward HOST:PORT] [--wait] [--json]
 *   transient-access list <device> [--states active,pending] [--json]
 *   transient-access revoke <grant> [--wait] [--json]
 *   transient-access watch <grant> [--json]
 *
 * Server and key come from `--url`/`TA_URL` and `--key`/`TA_KEY`. `--help`, `-h` or `help`
 * prints the usage. Exit codes: 0 success (and help), 1 the API refused (the problem's
 * `_tag` is printed) or the server could not be reached (its URL is printed), 2 usage error.
 *
 * @since 0.1.0
 */
import { parseArgs } from "node:util"
import { ApiError, makeClient, ServerUnreachable } from "./Client.ts"
import * as Commands from "./Commands.ts"
import { parseDuration, parseForward } from "./Format.ts"

const commands = ["grant", "list", "revoke", "watch"] as const

const usage = `usage:
  transient-access grant <device> [--access ssh|winbox] [--permission read-only|full] [--ttl 1h] [--source CIDR] [--forward HOST:PORT] [--label TEXT] [--idempotency-key KEY] [--wait] [--json]
  transient-access list <device> [--states active,pending] [--json]
  transient-access revoke <grant> [--wait] [--json]
  transient-access watch <grant> [--json]
  transient-access help
options: --url URL (or TA_URL), --key KEY (or TA_KEY), --help`

class UsageError extends Error {}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string" },
        key: { type: "string" },
        access: { type: "string", default: "ssh" },
        permission: { type: "string", default: "read-only" },
        ttl: { type: "string", default: "1h" },
        source: { type: "string" },
        forward: { type: "string" },
        label: { type: "string" },
        states: { type: "string" },
        "idempotency-key": { type: "string" },
        wait: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false }
      }
    })
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    console.error(usage)
    process.exit(2)
  }
})()

const output: Commands.Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  progress: (text) => {
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${text}`)
    else if (text !== "") process.stdout.write(`${text}\n`)
  }
}

const run = async (): Promise<void> => {
  const [command, target] = positionals
  if (values.help || command === "help") {
    output.line(usage)
    return
  }
  if (command === undefined) throw new UsageError(usage)
  if (!(commands as ReadonlyArray<string>).includes(command)) throw new UsageError(`unknown command: ${command}\n${usage}`)
  const url = values.url ?? process.env["TA_URL"]
  const key = values.key ?? process.env["TA_KEY"]
  if (url === undefined || key === undefined) throw new UsageError("set --url/TA_URL and --key/TA_KEY")
  if (target === undefined) throw new UsageError(`${command} needs an argument\n${usage}`)
  const client = makeClient(url, key)
  const json = values.json
  switch (command) {
    case "grant": {
      const ttlSeconds = parseDuration(values.ttl)
      if (ttlSeconds === undefined) throw new UsageError(`--ttl: expected e.g. 900, 15m, 1h (got ${values.ttl})`)
      const forward = values.forward === undefined ? undefined : parseForward(values.forward)
      if (forward === null) throw new UsageError(`--forward: expected HOST:PORT or [IPv6]:PORT (got ${values.forward})`)
      const body = {
        ...(forward !== undefined ? { kind: "port-forward", forward } : {}),
        accessType: values.access,
        permission: values.permission,
        ttlSeconds,
        ...(values.source !== undefined ? { source: values.source } : {}),
        ...(values.label !== undefined ? { label: values.label } : {})
      }
      const idempotencyKey = values["idempotency-key"]
      return Commands.grant(
        client,
        { deviceId: target, body, wait: values.wait, json, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) },
        output
      )
    }
    case "list":
      return Commands.list(client, { deviceId: target, json, ...(values.states !== undefined ? { states: values.states } : {}) }, output)
    case "revoke":
      return Commands.revoke(client, { grantId: target, wait: values.wait, json }, output)
    case "watch": {
      const final = await Commands.watch(client, target, { json, timeoutMs: 10 * 60_000 }, output)
      if (!json) output.line(`Grant ${final.id} is ${final.state}${final.ready ? " and ready" : ""}.`)
      return
    }
    default:
      throw new UsageError(`unknown command: ${command}\n${usage}`)
  }
}

try {
  await run()
} catch (error) {
  if (error instanceof UsageError) {
    console.error(error.message)
    process.exit(2)
  }
  if (error instanceof ServerUnreachable) {
    if (values.json) console.log(JSON.stringify({ error: { _tag: "ServerUnreachable", url: error.url, detail: error.message } }))
    else console.error(`error: ${error.message}`)
    process.exit(1)
  }
  if (error instanceof ApiError) {
    if (values.json) console.log(JSON.stringify({ error: { _tag: error._tag, status: error.status, detail: error.message } }))
    else console.error(`error: ${error._tag}: ${error.message}`)
    process.exit(1)
  }
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
