/**
 * `pnpm sync:manifests`: writes the derived fields (`metadata.ts`) into every published
 * package's `package.json`, keeping every other field and the key order; new keys go
 * after the key they belong with; copies the root `LICENSE` into every package (it ships
 * in each tarball); and writes each package's `typedoc.json` (its entry points). `--check` writes nothing and exits 1 when a manifest or a
 * `LICENSE` has drifted, naming the package and the fields.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { driftedFields, expectedFields, typedocConfig } from "./metadata.ts"
import { publishedPackages, root } from "./workspace.ts"

/** Where a missing key goes: after the first of these keys that the manifest has. */
const anchors: Readonly<Record<string, ReadonlyArray<string>>> = {
  license: ["description", "version"],
  repository: ["license"],
  homepage: ["repository"],
  bugs: ["homepage"],
  engines: ["sideEffects", "type", "bugs"],
  files: ["exports", "engines"],
  publishConfig: ["files"]
}

const withFields = (manifest: Readonly<Record<string, unknown>>, fields: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const entries = Object.entries(manifest).map(([key, value]): [string, unknown] => [key, key in fields ? fields[key] : value])
  for (const [key, value] of Object.entries(fields)) {
    if (key in manifest) continue
    const anchor = (anchors[key] ?? []).find((candidate) => entries.some(([existing]) => existing === candidate))
    const at = anchor === undefined ? entries.length : entries.findIndex(([existing]) => existing === anchor) + 1
    entries.splice(at, 0, [key, value])
  }
  return Object.fromEntries(entries)
}

const check = process.argv.includes("--check")
const license = readFileSync(join(root, "LICENSE"), "utf8")
let drifted = 0
for (const pkg of publishedPackages()) {
  const typedocFile = join(pkg.path, "typedoc.json")
  const typedoc = `${JSON.stringify(typedocConfig(pkg), null, 2)}\n`
  if (!existsSync(typedocFile) || readFileSync(typedocFile, "utf8") !== typedoc) {
    drifted++
    if (check) console.error(`${pkg.directory}/typedoc.json differs from the entry points its exports derive`)
    else {
      writeFileSync(typedocFile, typedoc)
      console.log(`${pkg.directory}/typedoc.json: wrote the entry points`)
    }
  }
  const licenseFile = join(pkg.path, "LICENSE")
  if (!existsSync(licenseFile) || readFileSync(licenseFile, "utf8") !== license) {
    drifted++
    if (check) console.error(`${pkg.directory}/LICENSE differs from the root LICENSE`)
    else {
      writeFileSync(licenseFile, license)
      console.log(`${pkg.directory}/LICENSE: copied from the root`)
    }
  }
  const fields = driftedFields(pkg)
  if (fields.length === 0) continue
  drifted++
  if (check) {
    console.error(`${pkg.directory}/package.json: ${fields.join(", ")} differ from what the root manifest and exports derive`)
    continue
  }
  const file = join(pkg.path, "package.json")
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>
  writeFileSync(file, `${JSON.stringify(withFields(manifest, expectedFields(pkg)), null, 2)}\n`)
  console.log(`${pkg.directory}/package.json: wrote ${fields.join(", ")}`)
}
if (check && drifted > 0) {
  console.error("run `pnpm sync:manifests` and commit the result")
  process.exit(1)
}
if (drifted === 0) console.log("every package manifest is in sync")
