/**
 * The SSH runner against OpenSSH's sshd inside a namespace: argv arrives intact, the host
 * key is pinned, a dropped connection is re-established, and commands time out.
 */
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { afterAll, assert, beforeAll, it } from "vitest"
import type { CommandRunner } from "../src/CommandRunner.ts"
import * as SshCommandRunner from "../src/SshCommandRunner.ts"
import { describeNetns, type Topology } from "./support/netns.ts"
import { sshTopology } from "./support/sshd.ts"

describeNetns("SshCommandRunner (sshd in a namespace)", () => {
  let topology: Topology
  let options: SshCommandRunner.SshOptions
  let close = async () => {}
  const withRunner = <A, E>(
    use: (runner: CommandRunner["Service"]) => Effect.Effect<A, E>,
    overrides: Partial<SshCommandRunner.SshOptions> = {}
  ) => Effect.runPromise(Effect.scoped(Effect.flatMap(SshCommandRunner.make({ ...options, ...overrides }), use)))

  beforeAll(async () => {
    ;({ topology, options, close } = await sshTopology())
  })
  afterAll(() => close())

  it("runs commands in the server's namespace and passes argv and stdin intact", async () => {
    await withRunner((runner) =>
      Effect.gen(function* () {
        const addresses = yield* runner.run(["ip", "-4", "-o", "addr", "show"])
        assert.include(addresses.stdout, topology.publicAddress)
        const echoed = yield* runner.run(["cat"], { stdin: "line 1\nline 'two'\n" })
        assert.strictEqual(echoed.stdout, "line 1\nline 'two'\n")
        const failed = yield* runner.run(["sh", "-c", "exit 3"])
        assert.strictEqual(failed.exitCode, 3)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(fc.string({ unit: "grapheme", maxLength: 10 }), { minLength: 1, maxLength: 5 }), async (argv) => {
              const result = await Effect.runPromise(runner.run(["printf", "%s\\0", ...argv]))
              assert.deepStrictEqual(result.stdout.split("\u0000").slice(0, -1), argv)
            }),
            { numRuns: 10 }
          )
        )
      })
    )
  })

  it("refuses a server whose host key is not the pinned one", async () => {
    const error = await withRunner((runner) => Effect.flip(runner.run(["true"])), {
      hostKeySha256: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      reconnectAttempts: 0
    })
    assert.strictEqual(error.reason, "Unreachable")
  })

  it("reconnects after the connection drops", async () => {
    await withRunner((runner) =>
      Effect.gen(function* () {
        assert.strictEqual((yield* runner.run(["true"])).exitCode, 0)
        // Kill this session's sshd process: the persistent connection goes away.
        yield* runner.run(["sh", "-c", "kill -9 $PPID"]).pipe(Effect.ignore)
        yield* Effect.sleep("200 millis")
        assert.strictEqual((yield* runner.run(["echo", "back"])).stdout, "back\n")
      })
    )
  })

  it("fails a command that outlives its timeout with Timeout", async () => {
    const error = await withRunner((runner) => Effect.flip(runner.run(["sleep", "5"], { timeout: "300 millis" })))
    assert.strictEqual(error.reason, "Timeout")
  })
})
