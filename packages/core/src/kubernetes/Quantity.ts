/**
 * Kubernetes quantities, as far as quota arithmetic needs them: CPU in millicores, memory and
 * storage in bytes. Decimal (k, M, G, T) and binary (Ki, Mi, Gi, Ti) suffixes, and plain numbers.
 */
const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50
}

/** The quantity's value in its base unit (cores, bytes); `undefined` for what is no quantity. */
export const parseQuantity = (q: string): number | undefined => {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/.exec(q)
  if (m === null) return undefined
  return Number(m[1]) * (SUFFIX[m[2] ?? ""] ?? 1)
}

/** Adds CPU quantities; the sum in millicores (`"1700m"`). */
export const addCpu = (...qs: ReadonlyArray<string>) => `${Math.ceil(qs.reduce((sum, q) => sum + (parseQuantity(q) ?? 0) * 1000, 0))}m`

/** Adds memory or storage quantities; the sum in whole Mi when it is one, else bytes. */
export const addBytes = (...qs: ReadonlyArray<string>) => {
  const bytes = Math.ceil(qs.reduce((sum, q) => sum + (parseQuantity(q) ?? 0), 0))
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20}Mi` : String(bytes)
}
