/**
 * The manifest fields every published package carries and takes from one place: the root
 * `package.json` (`license`, `repository`, `homepage`, `bugs`), the packages' `engines`
 * (`packageEngines`), plus the
 * `files` a tarball ships and the `publishConfig` derived from the package's `exports`
 * (see `manifest.ts`). `pnpm sync:manifests` writes them; `pnpm check:packages` fails when
 * a package's manifest has drifted from them.
 */
import { derivePublishConfig, entriesOf, readManifest } from "./manifest.ts"
import type { RepositoryManifest } from "./manifest.ts"
import { root } from "./workspace.ts"
import type { WorkspacePackage } from "./workspace.ts"

/**
 * What a tarball ships besides `package.json` (which is always packed): the build, with
 * source maps that embed their sources (`sourcesContent`), so `src/` stays out.
 */
export const shippedFiles: ReadonlyArray<string> = ["dist", "README.md", "LICENSE"]

/**
 * The Node versions the built packages run on: 22.12, where `require()` of an ES module
 * is unflagged — `effect` 4 is ESM-only, so the CommonJS builds load it that way (ESM
 * consumers would do with 22.0, kysely's floor). The repository itself needs 22.18 (the
 * root `engines`): the demo, the examples and the tests run `.ts` sources, which Node runs
 * unflagged from 22.18.
 */
export const packageEngines = { node: ">=22.12" } as const

interface RootMetadata {
  readonly license: string
  readonly repository: { readonly type: string; readonly url: string }
  readonly homepage: string
  readonly bugs: { readonly url: string }
}

const rootMetadata = (): RootMetadata => {
  const manifest = readManifest(root) as RepositoryManifest & Partial<RootMetadata>
  const { license, repository, homepage, bugs } = manifest
  if (license === undefined || repository === undefined || homepage === undefined || bugs === undefined) {
    throw new Error("the root package.json must define license, repository, homepage and bugs")
  }
  return { license, repository, homepage, bugs }
}

/** The fields a package's repository manifest must hold, with their values. */
export const expectedFields = (pkg: WorkspacePackage): Readonly<Record<string, unknown>> => {
  const metadata = rootMetadata()
  const publishConfig = pkg.manifest.publishConfig ?? {}
  const derived = derivePublishConfig(pkg.manifest)
  return {
    license: metadata.license,
    repository: { ...metadata.repository, directory: pkg.directory },
    homepage: `${metadata.homepage.replace(/#readme$/, "")}/tree/main/${pkg.directory}#readme`,
    bugs: metadata.bugs,
    engines: packageEngines,
    files: shippedFiles,
    publishConfig: {
      access: "public",
      main: derived.main,
      types: derived.types,
      ...(derived.typesVersions === undefined ? {} : { typesVersions: derived.typesVersions }),
      exports: derived.exports,
      ...(publishConfig["bin"] === undefined ? {} : { bin: publishConfig["bin"] })
    }
  }
}

/**
 * The package's `typedoc.json` (read by the root `pnpm docs:api`): one entry point per
 * `exports` entry, so the API reference documents exactly what the package publishes.
 */
export const typedocConfig = (pkg: WorkspacePackage): Readonly<Record<string, unknown>> => ({
  $schema: "https://typedoc.org/schema.json",
  entryPoints: entriesOf(pkg.manifest).map((entry) => entry.source),
  ...(notExported[pkg.directory] === undefined ? {} : { intentionallyNotExported: notExported[pkg.directory] })
})

/**
 * Internal names the public declarations mention on purpose, per package (the API
 * reference would otherwise warn that they are undocumented).
 */
const notExported: Readonly<Record<string, ReadonlyArray<string>>> = {
  // ExecutorFaults is the service tag of an internal record of switches; ModelTest's
  // property is typed by its internal model and world.
  "packages/core": ["Faults", "Model", "World"],
  // PgClient.TypeId is the brand of the opaque connection token.
  "packages/adapter-store-postgres": ["TypeId"]
}

/** The keys of `expectedFields` whose current value differs (compared as JSON). */
export const driftedFields = (pkg: WorkspacePackage): ReadonlyArray<string> => {
  const current = pkg.manifest as unknown as Readonly<Record<string, unknown>>
  return Object.entries(expectedFields(pkg))
    .filter(([key, value]) => JSON.stringify(current[key]) !== JSON.stringify(value))
    .map(([key]) => key)
}
