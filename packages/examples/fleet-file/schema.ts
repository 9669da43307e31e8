import { writeFile } from "node:fs/promises"
import { fleetFileJsonSchema } from "@clawfleet/core/fleet-file"

/** The committed JSON Schema of fleet files, next to the example; a test fails when it is stale. */
export const schemaPath = new URL("./fleet.schema.json", import.meta.url)

export const schemaText = () => `${JSON.stringify(fleetFileJsonSchema(), null, 2)}\n`

if (import.meta.main) {
  await writeFile(schemaPath, schemaText())
  console.log(`wrote ${schemaPath.pathname}`)
}
