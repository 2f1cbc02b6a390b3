/**
 * `pnpm release:dry-run`: the release path without publishing (CI runs it).
 *
 * 1. `changeset version` on a scratch copy of the manifests and the pending changesets:
 *    every published package must get a new version and a `CHANGELOG.md` entry written by
 *    changesets, and no changeset may be left pending;
 * 2. `pnpm check:packages` (the packed manifests, publint, attw);
 * 3. `pnpm publish --dry-run` of every published package: the command `changeset publish`
 *    runs in a pnpm workspace, which applies `publishConfig` and replaces `workspace:`
 *    ranges (a plain `npm publish` would ship the repository manifest).
 *
 * Needs `pnpm build` first. The real release is `pnpm version` (changesets writes versions
 * and changelogs; commit them) and then `pnpm release`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { run } from "./run.ts"
import { publishedPackages, root } from "./workspace.ts"

const pending = readdirSync(join(root, ".changeset")).filter((name) => name.endsWith(".md") && name !== "README.md")
console.log(`==> changeset version on a scratch copy (${pending.length} pending changesets)`)
const scratch = mkdtempSync(join(tmpdir(), "ta-release-"))
try {
  for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(root, file), join(scratch, file))
  cpSync(join(root, ".changeset"), join(scratch, ".changeset"), { recursive: true })
  for (const group of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, group))) {
      const from = join(root, group, name)
      if (!existsSync(join(from, "package.json"))) continue
      mkdirSync(join(scratch, group, name), { recursive: true })
      for (const file of ["package.json", "CHANGELOG.md"]) {
        if (existsSync(join(from, file))) cpSync(join(from, file), join(scratch, group, name, file))
      }
    }
  }
  // changesets loads its changelog generator from the workspace's node_modules
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"), "dir")
  run(join(root, "node_modules", ".bin", "changeset"), ["version"], scratch)
  const problems: Array<string> = []
  const left = readdirSync(join(scratch, ".changeset")).filter((name) => name.endsWith(".md") && name !== "README.md")
  if (left.length > 0) problems.push(`changesets left pending: ${left.join(", ")}`)
  for (const pkg of publishedPackages()) {
    const after = JSON.parse(readFileSync(join(scratch, pkg.directory, "package.json"), "utf8")) as { readonly version: string }
    const changelog = join(scratch, pkg.directory, "CHANGELOG.md")
    const text = existsSync(changelog) ? readFileSync(changelog, "utf8") : ""
    const entries = text.split("\n").filter((line) => line.startsWith("- ")).length
    if (after.version === pkg.manifest.version) problems.push(`${pkg.manifest.name} kept version ${after.version}`)
    if (!text.includes(`## ${after.version}`)) problems.push(`${pkg.manifest.name}: CHANGELOG.md has no section for ${after.version}`)
    console.log(`    ${pkg.manifest.name}: ${pkg.manifest.version} -> ${after.version}, CHANGELOG.md with ${entries} entries`)
  }
  if (problems.length > 0) throw new Error(`changeset version:\n  - ${problems.join("\n  - ")}`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}

console.log("==> pnpm check:packages")
console.log(run("node", [join(root, "scripts", "packaging", "check-packages.ts")], root).trimEnd())

console.log("==> pnpm publish --dry-run")
for (const pkg of publishedPackages()) {
  const output = run("pnpm", ["publish", "--dry-run", "--no-git-checks"], pkg.path)
  const line = output.split("\n").find((candidate) => candidate.includes("→")) ?? output.trim().split("\n")[0]
  console.log(`    ${line?.trim()}`)
}
console.log("==> release dry run: ok")
