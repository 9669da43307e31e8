import { Layer } from "effect"
import { Fleet } from "./Fleet.ts"
import { Grants } from "./grants/Grants.ts"
import * as Store from "./Store.ts"

/** Everything `Fleet` needs, over the store layer you choose. */
export const layer = <E, R>(store: Layer.Layer<Store.Services, E, R>) =>
  Fleet.layer.pipe(Layer.provideMerge(Grants.layer), Layer.provideMerge(store))

export const layerMemory = layer(Store.layerMemory)
export const layerPg = (options: Store.PgOptions) => layer(Store.layerPg(options))
export const layerPglite = (options?: Store.PgliteOptions) => layer(Store.layerPglite(options))

export type Services = Layer.Success<typeof layerMemory>
