import type { Schema } from "effect"
import { ClawfleetApi } from "./Api.ts"

type Groups = Readonly<Record<string, { readonly endpoints: Readonly<Record<string, { readonly success: ReadonlySet<Schema.Top> }>> }>>

/**
 * The schema an idempotent operation's answer is stored with: its endpoint's success schema, the
 * one the response is encoded with anyway. Operations are named `<group>.<endpoint>`
 * (`people.create`). An unknown name is a programming error, so it dies.
 */
export const successOf = (operation: string): Schema.Codec<unknown, unknown> => {
  const [group = "", endpoint = ""] = operation.split(".", 2)
  const success = (ClawfleetApi.groups as unknown as Groups)[group]?.endpoints[endpoint]?.success
  const [schema, ...others] = success ?? []
  if (schema === undefined || others.length > 0) throw new Error(`no single success schema for the operation "${operation}"`)
  return schema as Schema.Codec<unknown, unknown>
}
