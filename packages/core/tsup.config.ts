import { defineConfig } from "tsup"

export default defineConfig({
  entry: {
    index: "src/index.ts",
    promise: "src/promise.ts",
    fleetFile: "src/fleetFile.ts",
    kubernetes: "src/kubernetes.ts",
    testing: "src/testing.ts",
    fakeLlm: "src/fakeLlm.ts",
    "agent/main": "src/agent/main.ts"
  },
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
