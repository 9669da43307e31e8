import type { Layer } from "effect"
import * as Store from "../Store.ts"

export type StoreOption =
  | "memory"
  | { readonly postgres: string; readonly schema?: string; readonly maxConnections?: number }
  | { readonly pglite: { readonly dataDir?: string }; readonly schema?: string }
  /**
   * A store layer built by Effect code (`Store.layerFromRecordStore`, or an already built store
   * passed with `Layer.succeedContext`), so the facade shares records with it.
   */
  | { readonly layer: Layer.Layer<Store.Services> }

export const storeLayer = (store: StoreOption | undefined): Layer.Layer<Store.Services> => {
  if (store === undefined || store === "memory") return Store.layerMemory
  if ("layer" in store) return store.layer
  if ("postgres" in store) return Store.layerPg({ url: store.postgres, schema: store.schema, maxConnections: store.maxConnections })
  return Store.layerPglite({ dataDir: store.pglite.dataDir, schema: store.schema })
}
