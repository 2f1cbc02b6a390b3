/**
 * An OpenSSH server inside the regional namespace, with a generated host key and an
 * authorized client key in a temporary directory (removed with the topology's processes).
 *
 * @since 0.1.0
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import * as Redacted from "effect/Redacted"
import type * as SshCommandRunner from "../../src/SshCommandRunner.ts"
import { createTopology, destroyTopology, spawnIn, supportFile, type Topology } from "./netns.ts"

const execFileAsync = promisify(execFile)

/** The sshd port inside the regional namespace. */
export const sshPort = 2222

/** Starts sshd in the regional namespace; returns runner options that reach it. */
export const startSshd = async (
  topology: Topology
): Promise<{ readonly options: SshCommandRunner.SshOptions; readonly dispose: () => void }> => {
  const dir = mkdtempSync(join(tmpdir(), "ta-sshd-"))
  await execFileAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host"), "-C", "ta-test-host"])
  await execFileAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client"), "-C", "ta-test-client"])
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")))
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${sshPort}`,
      `ListenAddress ${topology.publicAddress}`,
      `HostKey ${join(dir, "host")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "MaxSessions 64",
      "MaxStartups 64",
      `PidFile ${join(dir, "sshd.pid")}`,
      ""
    ].join("\n")
  )
  mkdirSync("/run/sshd", { recursive: true }) // privilege separation directory sshd insists on
  // This machine's /root/.bashrc runs `pyenv init` (~0.5 s), and bash sources it for every
  // command sshd starts. sshd runs with an empty .bashrc bind-mounted over it, inside the
  // private mount namespace `ip netns exec` creates (the host's file is not touched), so the
  // tests measure a plain server.
  writeFileSync(join(dir, "empty-bashrc"), "")
  await spawnIn(
    topology,
    topology.regional,
    [
      "sh",
      "-c",
      'mount --bind "$0" /root/.bashrc 2>/dev/null; exec /usr/sbin/sshd -D -e -f "$1"',
      join(dir, "empty-bashrc"),
      join(dir, "sshd_config")
    ],
    /Server listening/,
    "stderr"
  )
  const { stdout } = await execFileAsync("ssh-keygen", ["-lf", join(dir, "host.pub")])
  const hostKeySha256 = /(SHA256:\S+)/.exec(stdout)?.[1] ?? ""
  return {
    options: {
      host: topology.publicAddress,
      port: sshPort,
      username: "root",
      hostKeySha256,
      privateKey: Redacted.make(readFileSync(join(dir, "client"), "utf8")),
      proxyCommand: [
        "ip",
        "netns",
        "exec",
        topology.client,
        process.execPath,
        supportFile("tcp-proxy.mjs"),
        topology.publicAddress,
        String(sshPort)
      ]
    },
    dispose: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** A topology with sshd running in its regional namespace; `close` removes both. */
export const sshTopology = async (): Promise<{
  readonly topology: Topology
  readonly options: SshCommandRunner.SshOptions
  readonly close: () => Promise<void>
}> => {
  const topology = await createTopology()
  const sshd = await startSshd(topology)
  return {
    topology,
    options: sshd.options,
    close: async () => {
      await destroyTopology(topology)
      sshd.dispose()
    }
  }
}
