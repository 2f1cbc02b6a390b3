/**
 * Runs every benchmark of the workspace (`packages/*\/bench/*.bench.ts`) one after the
 * other, each in its own Node process, and prints their reports. Pass package folder names
 * to run a subset: `pnpm bench core adapter-iptables`.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const wanted = process.argv.slice(2)
const packages = readdirSync(join(root, "packages"))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort((a, b) => (a === "core" ? -1 : b === "core" ? 1 : a.localeCompare(b)))
let failed = 0
for (const name of packages) {
  const dir = join(root, "packages", name, "bench")
  if (!existsSync(dir)) continue
  for (const file of readdirSync(dir)
    .filter((entry) => entry.endsWith(".bench.ts"))
    .sort()) {
    console.log(`\n### ${name}/bench/${file}\n`)
    const result = spawnSync(process.execPath, [join(dir, file)], { stdio: "inherit", cwd: join(root, "packages", name) })
    if (result.status !== 0) {
      failed++
      console.log(`(exit ${result.status ?? result.signal})`)
    }
  }
}
process.exit(failed === 0 ? 0 : 1)
