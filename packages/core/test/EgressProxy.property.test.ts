import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { canonicalHost, makeAddressFilter } from "../src/proxy/EgressProxy.ts"

// --- the address classifier against prefix math --------------------------------------------------

/** [first octets/bytes, prefix length] of what may not be reached, written from the registries. */
const V4_BLOCKED: ReadonlyArray<readonly [ReadonlyArray<number>, number]> = [
  [[0], 8],
  [[10], 8],
  [[100, 64], 10],
  [[127], 8],
  [[169, 254], 16],
  [[172, 16], 12],
  [[192, 0, 0], 24],
  [[192, 0, 2], 24],
  [[192, 88, 99], 24],
  [[192, 168], 16],
  [[198, 18], 15],
  [[198, 51, 100], 24],
  [[203, 0, 113], 24],
  [[224], 4],
  [[240], 4]
]
const V6_BLOCKED_IN_GLOBAL: ReadonlyArray<readonly [ReadonlyArray<number>, number]> = [
  [[0x20, 0x01, 0x00], 23],
  [[0x20, 0x01, 0x0d, 0xb8], 32],
  [[0x3f, 0xff, 0x00], 20]
]

const inPrefix = (bytes: ReadonlyArray<number>, [net, bits]: readonly [ReadonlyArray<number>, number]) => {
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit % 8)
    if (((bytes[bit >> 3] ?? 0) & mask) !== ((net[bit >> 3] ?? 0) & mask)) return false
  }
  return true
}

const referenceV4 = (b: ReadonlyArray<number>) => !V4_BLOCKED.some((p) => inPrefix(b, p))
const referenceV6 = (b: ReadonlyArray<number>): boolean => {
  const zeros = (n: number) => b.slice(0, n).every((x) => x === 0)
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) return referenceV4(b.slice(12))
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0)) return referenceV4(b.slice(12))
  if (b[0] === 0x20 && b[1] === 0x02) return referenceV4(b.slice(2, 6))
  if ((b[0]! & 0xe0) !== 0x20) return false
  return !V6_BLOCKED_IN_GLOBAL.some((p) => inPrefix(b, p))
}

const v4Text = (b: ReadonlyArray<number>) => b.join(".")
const v6Full = (b: ReadonlyArray<number>) => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(":")
// The URL parser compresses zero runs, so `::` forms are exercised too.
const v6Short = (b: ReadonlyArray<number>) => new URL(`http://[${v6Full(b)}]/`).hostname.slice(1, -1)
const v6Mixed = (b: ReadonlyArray<number>) => `${v6Full(b).split(":").slice(0, 6).join(":")}:${v4Text(b.slice(12))}`

const bytes = (n: number) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n })
// Uniform addresses rarely land in the interesting ranges, so half start with one of their prefixes.
const v4Arb = fc.oneof(
  bytes(4),
  fc.tuple(fc.constantFrom(...V4_BLOCKED), bytes(4)).map(([[net], rest]) => [...net, ...rest].slice(0, 4)),
  fc.constantFrom([127, 0, 0, 1], [169, 254, 169, 254], [255, 255, 255, 255], [100, 63, 255, 255], [100, 128, 0, 0], [198, 20, 0, 0])
)
const v6Prefixes: ReadonlyArray<ReadonlyArray<number>> = [
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
  [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0],
  [0, 0x64, 0xff, 0x9b, 0, 1],
  [0x20, 0x02],
  [0x20, 0x01, 0x0d, 0xb8],
  [0x20, 0x01, 0x01],
  [0x20, 0x01],
  [0x3f, 0xff],
  [0x3f, 0xff, 0x10],
  [0xfe, 0x80],
  [0xfc],
  [0xfd],
  [0xff, 0x02],
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [0x26, 0x06]
]
const v6Arb = fc.oneof(
  bytes(16),
  fc.tuple(fc.constantFrom(...v6Prefixes), bytes(16)).map(([prefix, rest]) => [...prefix, ...rest.slice(prefix.length)]),
  fc.tuple(fc.constantFrom(v6Prefixes[0]!, v6Prefixes[1]!), v4Arb).map(([prefix, v4]) => [...prefix, ...v4])
)

describe("EgressProxy address rules", () => {
  const allowed = makeAddressFilter()

  it("classifies IPv4 addresses as the prefix reference does", () => {
    fc.assert(
      fc.property(v4Arb, (b) => allowed(v4Text(b)) === referenceV4(b)),
      { numRuns: 20_000 }
    )
  })

  it("classifies IPv6 addresses in every spelling as the prefix reference does", () => {
    fc.assert(
      fc.property(v6Arb, (b) => {
        const expected = referenceV6(b)
        return allowed(v6Full(b)) === expected && allowed(v6Short(b)) === expected && allowed(v6Mixed(b)) === expected
      }),
      { numRuns: 20_000 }
    )
  })

  it("lets allowPrivate exempt exactly its ranges, and refuses what is not an address", () => {
    const opened = makeAddressFilter(["10.20.0.0/16", "fd00:1::/64", "127.0.0.1"])
    assert.isTrue(opened("10.20.3.4"))
    assert.isFalse(opened("10.21.0.1"))
    assert.isTrue(opened("fd00:1::5"))
    assert.isFalse(opened("fd00:2::5"))
    assert.isTrue(opened("::ffff:127.0.0.1"))
    assert.isFalse(opened("127.0.0.2"))
    for (const junk of ["", "example.com", "fe80::1%eth0", "1.2.3"]) assert.isFalse(allowed(junk), junk)
    assert.throws(() => makeAddressFilter(["10.0.0.0/33"]))
  })

  it("canonicalises host names and refuses the rest", () => {
    const ok = (raw: string) => {
      const r = canonicalHost(raw)
      return r.ok ? r.host : r.reason
    }
    assert.strictEqual(ok("Example.COM."), "example.com")
    assert.strictEqual(ok("bücher.example"), "xn--bcher-kva.example")
    assert.strictEqual(ok("127.1"), "ip-literal")
    assert.strictEqual(ok("[::1]"), "ip-literal")
    assert.strictEqual(ok("a..b.com"), "not-a-hostname")
    assert.strictEqual(ok("example.com.."), "not-a-hostname")
    assert.strictEqual(ok("host"), "not-a-hostname")
    assert.strictEqual(ok("1.2.3.999"), "not-a-hostname")
    assert.strictEqual(ok(`${"a".repeat(64)}.com`), "not-a-hostname")
  })
})
