import { BlockList, isIP } from "node:net"

/**
 * IPv4 ranges a tenant may never reach (IANA's special-purpose registry, less the few entries
 * that are globally reachable anycast services).
 */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network", including the unspecified address
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT: often the cluster's own nodes
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, where cloud metadata services (169.254.169.254) live
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // deprecated 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved, and the limited broadcast address
]

/**
 * IPv6 is allow-listed rather than deny-listed: only 2000::/3 is global unicast, so everything
 * outside it (unspecified, loopback, v4-compatible, discard, local NAT64, ULA fc00::/7,
 * link-local fe80::/10, site-local, multicast, unallocated) is blocked, and within it the ranges
 * that are not hosts anyone serves from.
 */
const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 3],
  ["4000::", 2],
  ["8000::", 1],
  ["2001::", 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID
  ["2001:db8::", 32], // documentation
  ["3fff::", 20] // documentation
]

/**
 * Prefixes that carry an IPv4 address, judged by that address: IPv4-mapped (::ffff:0:0/96), the
 * well-known NAT64 prefix (64:ff9b::/96) and 6to4 (2002::/16). Byte offset of the embedded address.
 */
const EMBEDDING: ReadonlyArray<{ readonly prefix: ReadonlyArray<number>; readonly at: number }> = [
  { prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], at: 12 },
  { prefix: [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], at: 12 },
  { prefix: [0x20, 0x02], at: 2 }
]

/** Sixteen bytes of an IPv6 address in any textual form net.isIP accepts without a zone, else undefined. */
export const ipv6Bytes = (text: string): Uint8Array | undefined => {
  if (isIP(text) !== 6 || text.includes("%")) return undefined
  const bytes = new Uint8Array(16)
  let tail = text
  let v4: string | undefined
  const lastColon = tail.lastIndexOf(":")
  if (tail.includes(".", lastColon)) {
    v4 = tail.slice(lastColon + 1)
    tail = `${tail.slice(0, lastColon + 1)}0:0`
  }
  const [head = "", rest] = tail.split("::") as [string, string | undefined]
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)))
  const left = groups(head)
  const right = rest === undefined ? [] : groups(rest)
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  for (const [i, g] of all.entries()) {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  }
  if (v4 !== undefined) for (const [i, octet] of v4.split(".").entries()) bytes[12 + i] = Number(octet)
  return bytes
}

const embeddedV4 = (bytes: Uint8Array): string | undefined => {
  for (const { prefix, at } of EMBEDDING) {
    if (prefix.every((b, i) => bytes[i] === b)) return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
  }
  return undefined
}

// One list per family: BlockList matches IPv4 rules against IPv4-mapped addresses and the other
// way round, so an IPv6 rule such as ::/3 in a shared list would block every IPv4 address.
const listOf = (ranges: ReadonlyArray<readonly [string, number]>, family: "ipv4" | "ipv6") => {
  const list = new BlockList()
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family)
  return list
}

/** A CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address, as a network and prefix length. */
export const parseCidr = (cidr: string): { readonly family: 4 | 6; readonly network: string; readonly prefix: number } => {
  const slash = cidr.indexOf("/")
  const network = slash === -1 ? cidr : cidr.slice(0, slash)
  const family = isIP(network)
  const prefix = slash === -1 ? (family === 4 ? 32 : 128) : Number(cidr.slice(slash + 1))
  if (family === 0 || network.includes("%") || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new Error(`EgressProxy: "${cidr}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`)
  }
  return { family: family as 4 | 6, network, prefix }
}

/**
 * Whether the proxy may connect to an address: true for public unicast and for what the operator
 * exempted with `allowPrivate`; false for every special-purpose range and for anything that does
 * not parse as an address (the proxy fails closed).
 */
export type AddressFilter = (address: string) => boolean

export const makeAddressFilter = (allowPrivate: ReadonlyArray<string> = []): AddressFilter => {
  const blocked4 = listOf(BLOCKED_V4, "ipv4")
  const blocked6 = listOf(BLOCKED_V6, "ipv6")
  const exempt = allowPrivate.map(parseCidr)
  const exempt4 = listOf(
    exempt.filter((c) => c.family === 4).map((c) => [c.network, c.prefix] as const),
    "ipv4"
  )
  const exempt6 = listOf(
    exempt.filter((c) => c.family === 6).map((c) => [c.network, c.prefix] as const),
    "ipv6"
  )
  const v4 = (address: string) => exempt4.check(address, "ipv4") || !blocked4.check(address, "ipv4")
  return (address) => {
    const family = isIP(address)
    if (family === 4) return v4(address)
    const bytes = family === 6 ? ipv6Bytes(address) : undefined
    if (bytes === undefined) return false
    if (exempt6.check(address, "ipv6")) return true
    const inner = embeddedV4(bytes)
    if (inner !== undefined) return v4(inner)
    return !blocked6.check(address, "ipv6")
  }
}
