/**
 * The tsup settings every package builds with: ESM + CJS + declarations, from the
 * package's entry points (`src/index.ts`, plus `src/testing/index.ts` where it has one).
 */
import { defineConfig } from "tsup"

export const packageConfig = (entry: ReadonlyArray<string>) =>
  defineConfig({
    entry: [...entry],
    format: ["esm", "cjs"],
    dts: { compilerOptions: { allowImportingTsExtensions: true } },
    tsconfig: "tsconfig.build.json",
    sourcemap: true,
    clean: true,
    target: "node22"
  })
