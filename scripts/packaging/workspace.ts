/**
 * The published packages of the workspace (`packages/*` that are not private), in build
 * order (core first), with their manifests.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { readManifest } from "./manifest.ts"
import type { RepositoryManifest } from "./manifest.ts"

/** The repository root. */
export const root = join(import.meta.dirname, "..", "..")

/** A published package of the workspace. */
export interface WorkspacePackage {
  /** Folder relative to the root, e.g. `packages/core`. */
  readonly directory: string
  /** Absolute folder. */
  readonly path: string
  readonly manifest: RepositoryManifest
}

/** Every non-private package under `packages/`, core first, then by name. */
export const publishedPackages = (): ReadonlyArray<WorkspacePackage> =>
  readdirSync(join(root, "packages"))
    .filter((name) => existsSync(join(root, "packages", name, "package.json")))
    .map((name) => {
      const path = join(root, "packages", name)
      return { directory: `packages/${name}`, path, manifest: readManifest(path) }
    })
    .filter((candidate) => candidate.manifest.private !== true)
    .sort((left, right) =>
      left.directory === "packages/core" ? -1 : right.directory === "packages/core" ? 1 : left.directory.localeCompare(right.directory)
    )
