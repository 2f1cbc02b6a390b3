/**
 * Packs every published package with `pnpm pack` (which applies `publishConfig` and turns
 * `workspace:` ranges into real ones, as `pnpm publish` does) and unpacks each tarball
 * beside it, so that the checks read exactly what npm would ship.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { publishedPackages, root } from "./workspace.ts"
import type { WorkspacePackage } from "./workspace.ts"

/** One packed package: its tarball and the folder it was unpacked into. */
export interface Packed {
  readonly pkg: WorkspacePackage
  /** Absolute path of the `.tgz`. */
  readonly tarball: string
  /** Absolute path of the unpacked `package/` folder. */
  readonly unpacked: string
}

/** Where the tarballs go (under the git-ignored `.tmp/`). */
export const packDirectory = join(root, ".tmp", "packs")

/** Packs every published package into a fresh `packDirectory`; needs `pnpm build` first. */
export const packAll = (): ReadonlyArray<Packed> => {
  rmSync(packDirectory, { recursive: true, force: true })
  mkdirSync(packDirectory, { recursive: true })
  return publishedPackages().map((pkg) => {
    const before = new Set(readdirSync(packDirectory))
    execFileSync("pnpm", ["pack", "--pack-destination", packDirectory], { cwd: pkg.path, stdio: "pipe" })
    const created = readdirSync(packDirectory).filter((name) => name.endsWith(".tgz") && !before.has(name))
    if (created.length !== 1) throw new Error(`${pkg.directory}: pnpm pack made ${created.length} tarballs`)
    const tarball = join(packDirectory, created[0]!)
    const into = join(packDirectory, created[0]!.replace(/\.tgz$/, ""))
    mkdirSync(into)
    execFileSync("tar", ["-xzf", tarball, "-C", into])
    return { pkg, tarball, unpacked: join(into, "package") }
  })
}
