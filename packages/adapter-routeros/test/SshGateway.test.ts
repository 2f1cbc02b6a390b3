/**
 * The core DeviceGateway contract suite through the SSH (CLI) transport, against the
 * simulator's SSH server.
 */
import { afterAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { DeviceGatewaySuite } from "@transient-access/core/suites"
import * as SshTransport from "../src/SshTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7" })
afterAll(() => sim.stop())

DeviceGatewaySuite.suite("RouterOS SSH CLI (simulator v7)", SshTransport.layer({ credentials: adminCredentials }), {
  device: deviceOf(sim),
  probe: {
    usernames: () =>
      Effect.sync(() => sim.state.users.items.map((user) => user.props.get("name") ?? "").filter((name) => name.startsWith("ta-")))
  }
})
