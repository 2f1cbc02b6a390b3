/**
 * `pnpm test:packages`: installs the packed tarballs (after `pnpm build`) into a scratch
 * project outside the repository, with npm and nothing of the workspace, and proves what a
 * user installing from npm gets:
 *
 * - `consumer/consumer.ts` type-checks with `tsc` as ESM under `node16`, as CommonJS under
 *   `node20` (require of ESM: `effect` is ESM-only) and under `bundler`, with `strict` and
 *   without `skipLibCheck`. (`node10` is out: `effect` itself publishes only `exports`, so
 *   no `effect` program type-checks under it; `pnpm check:packages` still shows that this
 *   SDK's own declarations resolve there.)
 * - the ESM and the CommonJS builds of it run: a grant through the in-memory adapters,
 *   `instanceof` across entries, a layer of every adapter;
 * - one copy of `@transient-access/core` and of `effect` is installed, and every adapter
 *   resolves the same ones (they are peers);
 * - the PostgreSQL store's main entry loads without PGlite installed (optional peers).
 *
 * The scratch project installs what a user of these entries installs: `effect` (peer),
 * `fast-check` (the optional peer `/testing` needs), `typescript` and `@types/node`.
 *
 * `--keep` leaves the scratch project in place and prints where it is.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { packAll } from "./pack.ts"
import { run } from "./run.ts"
import { root } from "./workspace.ts"

const started = Date.now()
const keep = process.argv.includes("--keep")
const coreManifest = JSON.parse(readFileSync(join(root, "packages", "core", "package.json"), "utf8")) as {
  readonly devDependencies: Readonly<Record<string, string>>
}
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly devDependencies: Readonly<Record<string, string>>
}
/** The versions the repository builds and tests with. */
const effectVersion = coreManifest.devDependencies["effect"]!
const typescriptVersion = rootManifest.devDependencies["typescript"]!
const nodeTypesVersion = rootManifest.devDependencies["@types/node"]!

const step = (label: string) => console.log(`==> ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`)

step("packing")
const packed = packAll()
const scratch = mkdtempSync(join(tmpdir(), "ta-consumer-"))
try {
  writeFileSync(join(scratch, "package.json"), `${JSON.stringify({ name: "ta-consumer", private: true }, null, 2)}\n`)
  step(`installing ${packed.length} tarballs with npm into ${scratch}`)
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--loglevel=error",
      ...packed.map((item) => item.tarball),
      `effect@${effectVersion}`,
      // the optional peer that `/testing`'s declarations name (its contract suites use it)
      `fast-check@${coreManifest.devDependencies["fast-check"]!}`,
      `typescript@${typescriptVersion}`,
      `@types/node@${nodeTypesVersion}`
    ],
    scratch
  )

  const compilerOptions = {
    strict: true,
    skipLibCheck: false,
    target: "es2022",
    // effect's own declarations (effect/crypto) name the DOM's CryptoKey and JsonWebKey, so a
    // program that type-checks its libraries needs the DOM lib; this SDK's need no more.
    lib: ["es2023", "dom"],
    types: ["node"],
    rootDir: ".",
    outDir: "dist"
  }
  const projects = [
    {
      folder: "esm",
      type: "module",
      configs: {
        "tsconfig.json": { module: "node16", moduleResolution: "node16" },
        "tsconfig.bundler.json": { module: "preserve", moduleResolution: "bundler", noEmit: true }
      }
    },
    // CommonJS: `effect` 4 is ESM-only, so a CommonJS program loads it (and this SDK's `.cjs`
    // builds, which require it) through Node's require(esm), unflagged from 22.12; TypeScript
    // models that from `module: node20` (under `node16` it refuses any `effect` import).
    { folder: "cjs", type: "commonjs", configs: { "tsconfig.json": { module: "node20", moduleResolution: "node16" } } }
  ] as const
  for (const project of projects) {
    const folder = join(scratch, project.folder)
    mkdirSync(folder)
    writeFileSync(join(folder, "package.json"), `${JSON.stringify({ type: project.type }, null, 2)}\n`)
    copyFileSync(join(import.meta.dirname, "consumer", "consumer.ts"), join(folder, "consumer.ts"))
    for (const [name, options] of Object.entries(project.configs)) {
      writeFileSync(
        join(folder, name),
        `${JSON.stringify({ compilerOptions: { ...compilerOptions, ...options }, files: ["consumer.ts"] }, null, 2)}\n`
      )
      step(
        `tsc -p ${project.folder}/${name} (module ${options.module}, moduleResolution ${options.moduleResolution}, ${project.type}, no skipLibCheck)`
      )
      run(join(scratch, "node_modules", ".bin", "tsc"), ["-p", name], folder)
    }
    step(`node ${project.folder}/dist/consumer.js`)
    const output = run(process.execPath, [join("dist", "consumer.js")], folder).trim()
    const compiled = readFileSync(join(folder, "dist", "consumer.js"), "utf8")
    const isCommonJs = /require\("@transient-access\/core"\)/.test(compiled)
    if (isCommonJs !== (project.type === "commonjs")) throw new Error(`${project.folder}: tsc did not emit ${project.type}`)
    console.log(`    ${output}`)
  }

  step("one copy of each shared package")
  const copies = (name: string): ReadonlyArray<string> => {
    const found: Array<string> = []
    const walk = (directory: string) => {
      for (const entry of readdirSync(directory)) {
        const path = join(directory, entry)
        if (!statSync(path).isDirectory()) continue
        if (entry === "node_modules") {
          const candidate = join(path, ...name.split("/"))
          try {
            if (statSync(join(candidate, "package.json")).isFile()) found.push(relative(scratch, candidate))
          } catch {
            // not installed under this folder
          }
        }
        walk(path)
      }
    }
    walk(scratch)
    return found
  }
  const consumer = createRequire(join(scratch, "package.json"))
  for (const shared of ["@transient-access/core", "effect"]) {
    const installed = copies(shared)
    if (installed.length !== 1) throw new Error(`${shared} is installed ${installed.length} times: ${installed.join(", ")}`)
    const expected = consumer.resolve(shared)
    for (const item of packed) {
      const from = createRequire(join(scratch, "node_modules", ...item.pkg.manifest.name.split("/"), "package.json"))
      if (item.pkg.manifest.name !== shared && from.resolve(shared) !== expected) {
        throw new Error(`${item.pkg.manifest.name} resolves its own ${shared}: ${from.resolve(shared)}`)
      }
    }
    console.log(`    ${shared}: one copy (${installed[0]}), the same for every package`)
  }
  const pglite = copies("@electric-sql/pglite")
  if (pglite.length !== 0) throw new Error(`PGlite was installed although it is an optional peer: ${pglite.join(", ")}`)
  console.log("    @electric-sql/pglite: not installed, and the store's main entry loaded without it")
  step("pack-and-import: ok")
} finally {
  if (keep) console.log(`scratch project kept at ${scratch}`)
  else rmSync(scratch, { recursive: true, force: true })
}
