/**
 * `pnpm check:packages`: the packed manifest is the contract. Packs every published
 * package (after `pnpm build`) and checks each tarball:
 *
 * - the repository manifest is in sync with what `exports` and the root derive
 *   (`pnpm sync:manifests --check`);
 * - the packed `package.json` has no `workspace:` range and no `./src` target, and every
 *   file its `exports`, `main`, `types` and `bin` name is in the tarball;
 * - the tarball holds `LICENSE`, `README.md` and `dist/` only (no sources, tests or maps of
 *   files that do not ship);
 * - `publint --strict` finds nothing;
 * - `@arethetypeswrong/cli` (strict profile) finds nothing: types resolve for ESM and
 *   CommonJS consumers under `node16`, for `bundler`, and under `node10` (TypeScript's
 *   legacy `moduleResolution: node`, through `main` / `types` / `typesVersions`).
 *
 * Exits 1 on the first package with a problem, after printing every problem found.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { driftedFields } from "./metadata.ts"
import { type Packed, packAll } from "./pack.ts"
import { root } from "./workspace.ts"

const bin = (name: string) => join(root, "node_modules", ".bin", name)

/** Every string leaf of a JSON value, with its path. */
const leaves = (value: unknown, path: string): ReadonlyArray<readonly [string, string]> => {
  if (typeof value === "string") return [[path, value]]
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([key, inner]) => leaves(inner, `${path}.${key}`))
}

const filesUnder = (directory: string): ReadonlyArray<string> =>
  readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

const manifestProblems = (packed: Packed): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const manifest = JSON.parse(readFileSync(join(packed.unpacked, "package.json"), "utf8")) as Record<string, unknown>
  for (const [path, value] of leaves(manifest, "package.json")) {
    if (value.startsWith("workspace:")) problems.push(`${path} is ${value}: a workspace range was published`)
  }
  const targets = [
    ...leaves(manifest["exports"], "exports"),
    ...leaves(manifest["bin"], "bin"),
    ...(typeof manifest["main"] === "string" ? [["main", manifest["main"]] as const] : []),
    ...(typeof manifest["types"] === "string" ? [["types", manifest["types"]] as const] : [])
  ]
  for (const [path, target] of targets) {
    if (target.startsWith("./src/")) problems.push(`${path} points at the sources (${target})`)
    else if (!existsSync(join(packed.unpacked, target))) problems.push(`${path}: ${target} is not in the tarball`)
  }
  if (manifest["main"] === undefined || manifest["types"] === undefined) problems.push("main / types (the node10 fallback) are missing")
  for (const required of ["LICENSE", "README.md", "package.json"]) {
    if (!existsSync(join(packed.unpacked, required))) problems.push(`${required} is not in the tarball`)
  }
  for (const file of filesUnder(packed.unpacked)) {
    const name = relative(packed.unpacked, file)
    if (!["LICENSE", "README.md", "package.json"].includes(name) && !name.startsWith("dist/")) {
      problems.push(`${name} ships but is not part of the build`)
    }
  }
  return problems
}

interface ToolRun {
  readonly problems: ReadonlyArray<string>
  readonly output: string
}

/** Runs a checker; its output is the problem when it exits non-zero. */
const tool = (label: string, command: string, args: ReadonlyArray<string>): ToolRun => {
  try {
    const output = execFileSync(command, args, {
      stdio: "pipe",
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
    })
    return { problems: [], output }
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    const output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`.trim()
    return { problems: [`${label} failed:\n${output}`], output }
  }
}

/** attw's verdict per entry and resolver, one line per entry. */
const attwSummary = (output: string): ReadonlyArray<string> => {
  const lines: Array<string> = []
  for (const block of output.split(/\*{5,}/)) {
    const entry = /^\s*"([^"]+)"/m.exec(block)
    if (entry === null || entry[1]!.endsWith("/package.json")) continue
    const verdicts = [...block.matchAll(/^(node10|node16 \(from CJS\)|node16 \(from ESM\)|bundler): (.*)$/gm)].map(
      (match) => `${match[1]} ${match[2]!.trim()}`
    )
    lines.push(`${entry[1]}: ${verdicts.join(", ")}`)
  }
  return lines
}

let failures = 0
for (const packed of packAll()) {
  const publint = tool("publint", bin("publint"), ["run", packed.tarball, "--strict", "--level", "warning"])
  const attw = tool("attw", bin("attw"), [packed.tarball, "--format", "ascii", "--no-emoji", "--no-color"])
  const problems = [
    ...driftedFields(packed.pkg).map((field) => `package.json ${field} drifted: run \`pnpm sync:manifests\``),
    ...manifestProblems(packed),
    ...publint.problems,
    ...attw.problems
  ]
  const size = (statSync(packed.tarball).size / 1024).toFixed(1)
  const files = filesUnder(packed.unpacked).length
  if (problems.length === 0) {
    console.log(
      `ok   ${packed.pkg.manifest.name}  (${files} files, ${size} KiB packed): manifest and files ok, publint --strict: no problem`
    )
    for (const line of attwSummary(attw.output)) console.log(`     attw ${line}`)
  } else {
    failures++
    console.error(`FAIL ${packed.pkg.manifest.name}`)
    for (const problem of problems) console.error(`  - ${problem.replace(/\n/g, "\n    ")}`)
  }
}
if (failures > 0) process.exit(1)
