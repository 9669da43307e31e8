import { defineConfig } from "tsup"

export default defineConfig({
  entry: ["src/index.ts", "src/promise.ts", "src/kubernetes.ts", "src/testing.ts"],
  format: ["esm"],
  target: "node22",
  platform: "node",
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  // Peers stay imports: the app's copy of effect, and the optional drivers load only when used.
  external: [/^effect/, /^@effect\//, /^@electric-sql\//, /^@cedar-policy\//, /^@kubernetes\//, /^kubernetes-models/]
})
