/**
 * The core's RegionalGateway contract suite against the relay, with a probe that checks what
 * the relay lists against the listening state node reports for each server (a held path whose
 * stop time has not passed must really be listening).
 */
import * as Effect from "effect/Effect"
import { RegionalGatewaySuite } from "@transient-access/core/suites"
import { RelayGateway } from "../src/index.ts"
import { region } from "./utils.ts"

const from = 21_000 + Math.floor(Math.random() * 400) * 20

RegionalGatewaySuite.suite("RelayGateway", RelayGateway.layer(), {
  region: { ...region("relay-suite", from), portRange: { from, to: from + 19 } },
  target: { address: "127.0.0.1", port: 9 },
  probe: {
    taggedGrantIds: (r) =>
      Effect.gen(function* () {
        const relay = yield* RelayGateway.Relay
        const now = Date.now()
        // a held path must really be listening, unless its stop time has passed
        return (yield* relay.listening)
          .filter((path) => path.regionId === r.id && (path.listening || path.stopAt <= now))
          .map((path) => path.grantId)
      })
  }
})
