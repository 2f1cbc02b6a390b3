/**
 * What a package publishes, derived from its repository manifest (`package.json`).
 *
 * In the repository, each entry of `exports` points at its TypeScript source
 * (`"./testing": "./src/testing/index.ts"`), so that the workspace, the tests and the
 * examples run the sources directly. Everything the published package needs follows from
 * that one list: the files tsup builds (`bundleName`), the conditioned `publishConfig.exports`
 * pnpm swaps in when packing (ESM and CommonJS, each with its own declarations), the
 * node10 fallbacks (`main` / `types`, main entry only), and the files a tarball must hold.
 * Commands are the exception: `publishConfig.bin` names the built file
 * (`./dist/bin/migrate.js`) and the source it is built from is derived from it.
 *
 * Adding an entry means adding one line to `exports` and running `pnpm sync:manifests`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

/** The fields of a repository manifest this module reads. */
export interface RepositoryManifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly exports?: Readonly<Record<string, unknown>>
  readonly publishConfig?: Readonly<Record<string, unknown>>
}

/** One export of a package: the subpath users import and the files it builds to. */
export interface Entry {
  /** The `exports` key, e.g. `"."` or `"./testing"`. */
  readonly subpath: string
  /** The source file, relative to the package (`src/testing/index.ts`). */
  readonly source: string
  /** The output name tsup writes under `dist/` (`testing/index`). */
  readonly bundleName: string
  /** `./dist/<bundleName>.js` and its declarations `.d.ts`. */
  readonly esm: { readonly types: string; readonly default: string }
  /** `./dist/<bundleName>.cjs` and its declarations `.d.cts`. */
  readonly cjs: { readonly types: string; readonly default: string }
}

/** One command of a package (`publishConfig.bin`), built as ESM only. */
export interface Command {
  readonly name: string
  /** The published file, e.g. `./dist/bin/migrate.js`. */
  readonly output: string
  /** The source it is built from, e.g. `src/bin/migrate.ts`. */
  readonly source: string
  /** The output name tsup writes under `dist/` (`bin/migrate`). */
  readonly bundleName: string
}

/** The `publishConfig` fields derived from `exports` (what `pnpm sync:manifests` writes). */
export interface DerivedPublishConfig {
  readonly main: string
  readonly types: string
  readonly typesVersions?: Readonly<Record<string, Readonly<Record<string, ReadonlyArray<string>>>>>
  readonly exports: Readonly<Record<string, unknown>>
}

const sourceTarget = /^\.\/src\/(.+)\.ts$/
const commandOutput = /^\.\/dist\/(.+)\.js$/

/** Passed through unchanged into the published `exports`. */
const passthrough = "./package.json"

/** Reads `<directory>/package.json`. */
export const readManifest = (directory: string): RepositoryManifest =>
  JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as RepositoryManifest

/**
 * The entries of a package, from its repository `exports`. Throws on a target that is
 * neither `./src/<path>.ts` nor `./package.json`, naming it, so the derivation never
 * guesses.
 */
export const entriesOf = (manifest: RepositoryManifest): ReadonlyArray<Entry> =>
  Object.entries(manifest.exports ?? {}).flatMap(([subpath, target]): ReadonlyArray<Entry> => {
    if (subpath === passthrough && target === passthrough) return []
    const match = typeof target === "string" ? sourceTarget.exec(target) : null
    if (match === null) {
      throw new Error(
        `${manifest.name}: exports[${JSON.stringify(subpath)}] is ${JSON.stringify(target)}; ` +
          `in the repository every export points at its source, "./src/<path>.ts"`
      )
    }
    const bundleName = match[1]!
    return [
      {
        subpath,
        source: `src/${bundleName}.ts`,
        bundleName,
        esm: { types: `./dist/${bundleName}.d.ts`, default: `./dist/${bundleName}.js` },
        cjs: { types: `./dist/${bundleName}.d.cts`, default: `./dist/${bundleName}.cjs` }
      }
    ]
  })

/** The commands of a package, from `publishConfig.bin` (`./dist/<path>.js` each). */
export const commandsOf = (manifest: RepositoryManifest): ReadonlyArray<Command> => {
  const bin = manifest.publishConfig?.["bin"]
  if (bin === undefined) return []
  if (typeof bin !== "object" || bin === null) throw new Error(`${manifest.name}: publishConfig.bin must be an object`)
  return Object.entries(bin).map(([name, output]) => {
    const match = typeof output === "string" ? commandOutput.exec(output) : null
    if (match === null) {
      throw new Error(`${manifest.name}: publishConfig.bin[${JSON.stringify(name)}] must be "./dist/<path>.js"`)
    }
    const bundleName = match[1]!
    return { name, output: output as string, source: `src/${bundleName}.ts`, bundleName }
  })
}

/**
 * The published `exports`, `main` and `types`: every entry conditioned per format, so that
 * `import` resolves `.js` typed by `.d.ts` and `require` resolves `.cjs` typed by `.d.cts`.
 * Resolvers that ignore `exports` (TypeScript's `node10`, `moduleResolution: node`) get the
 * main entry through `main` / `types` and every other entry's declarations through
 * `typesVersions`; the newer resolvers read `exports` and never look at either.
 */
export const derivePublishConfig = (manifest: RepositoryManifest): DerivedPublishConfig => {
  const entries = entriesOf(manifest)
  const main = entries.find((entry) => entry.subpath === ".")
  if (main === undefined) throw new Error(`${manifest.name}: exports has no "." entry`)
  const exports: Record<string, unknown> = {}
  for (const [subpath] of Object.entries(manifest.exports ?? {})) {
    const entry = entries.find((candidate) => candidate.subpath === subpath)
    exports[subpath] = entry === undefined ? passthrough : { import: entry.esm, require: entry.cjs }
  }
  const subpaths = entries.filter((entry) => entry.subpath !== ".")
  const typesVersions =
    subpaths.length === 0
      ? undefined
      : { "*": Object.fromEntries(subpaths.map((entry) => [entry.subpath.replace(/^\.\//, ""), [entry.cjs.types]])) }
  return { main: main.cjs.default, types: main.cjs.types, ...(typesVersions === undefined ? {} : { typesVersions }), exports }
}

/** The tsup entry map (`bundleName → source`) of every entry and command. */
export const buildEntries = (manifest: RepositoryManifest): Readonly<Record<string, string>> =>
  Object.fromEntries([...entriesOf(manifest), ...commandsOf(manifest)].map((item) => [item.bundleName, item.source]))
