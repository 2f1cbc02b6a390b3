/**
 * The tsup settings every package builds with, from the package's own manifest: one entry
 * per `exports` entry (`./src/<path>.ts` → `dist/<path>.{js,cjs,d.ts,d.cts}`) and one per
 * `publishConfig.bin` command (ESM only, no declarations); see
 * `scripts/packaging/manifest.ts`.
 *
 * Both formats split shared code into chunks, so that the entries of a package import one
 * copy of each module (`@transient-access/core` and `@transient-access/core/testing` share
 * `GrantStore`, the error classes, …) instead of each bundling its own. Dependencies and
 * peer dependencies (`effect`, `@transient-access/core`, drivers) stay external.
 */
import { defineConfig } from "tsup"
import { buildEntries, commandsOf, entriesOf, readManifest } from "./scripts/packaging/manifest.ts"

/** The configuration of the package in the current directory (tsup runs in the package). */
export const packageConfig = () => {
  const manifest = readManifest(process.cwd())
  const commands = new Set(commandsOf(manifest).map((command) => command.bundleName))
  return defineConfig({
    entry: { ...buildEntries(manifest) },
    format: ["esm", "cjs"],
    splitting: true,
    // Let rollup turn the split ESM chunks into CommonJS: without it tsup converts them with
    // sucrase, which also rewrites `a ?? (yield* b)` into a callback where `yield` is a
    // syntax error (the CommonJS build of adapter-iptables did not load).
    treeshake: true,
    dts: {
      entry: Object.fromEntries(entriesOf(manifest).map((entry) => [entry.bundleName, entry.source])),
      compilerOptions: { allowImportingTsExtensions: true }
    },
    // Commands run as ESM; leave them out of the CommonJS build.
    esbuildOptions(options, { format }) {
      if (format === "cjs" && options.entryPoints !== undefined && !Array.isArray(options.entryPoints)) {
        options.entryPoints = Object.fromEntries(Object.entries(options.entryPoints).filter(([bundleName]) => !commands.has(bundleName)))
      }
    },
    tsconfig: "tsconfig.build.json",
    sourcemap: true,
    clean: true,
    target: "node22"
  })
}
