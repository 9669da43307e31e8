import { isUtf8 } from "node:buffer"
import { randomBytes } from "node:crypto"
import type { Duplex } from "node:stream"

// OpenClaw authenticates its WebSocket in-band, not at the upgrade: the first thing the browser
// sends is a `connect` request, and the shared secret has to be in it. The browser never holds that
// secret, so the agent writes it into the request on its way through. It goes in `auth.password`:
// in token mode the gateway accepts the secret there as well as in `auth.token`, and the browser's
// device signature covers `auth.token` (or its device or bootstrap token) but never the password,
// so adding it leaves the signature intact.

/**
 * The gateway's own limit on a frame before `connect` succeeded (OpenClaw's
 * `MAX_PREAUTH_PAYLOAD_BYTES`); a longer one would be refused there anyway, so waiting for it here
 * would only let a client make the agent hold memory for nothing.
 */
export const MAX_FIRST_FRAME_PAYLOAD = 64 * 1024

/** One WebSocket frame (RFC 6455 section 5.2); `payload` is already unmasked. */
export interface Frame {
  readonly fin: boolean
  /** RSV1..RSV3 as a number 0..7; anything but 0 means an extension such as compression. */
  readonly rsv: number
  readonly opcode: number
  /** The 4-byte masking key, which every client-to-server frame must carry. */
  readonly mask: Buffer | undefined
  readonly payload: Buffer
}

export interface FrameHeader {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: number
  readonly masked: boolean
  /** Declared payload length; a 64-bit length beyond 2^53 is only approximate, and far over any limit. */
  readonly length: number
  /** Bytes before the payload: 2, plus 2 or 8 for a longer length, plus 4 for the mask. */
  readonly size: number
}

/** The header's length in bytes, which its second byte decides. */
const headerSize = (b1: number) => {
  const short = b1 & 0x7f
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0)
}

/** The frame header at the start of `buf`, or undefined while it has not all arrived. */
export const readHeader = (buf: Buffer): FrameHeader | undefined => {
  if (buf.length < 2) return undefined
  const b0 = buf[0]!
  const b1 = buf[1]!
  const size = headerSize(b1)
  if (buf.length < size) return undefined
  const masked = (b1 & 0x80) !== 0
  const short = b1 & 0x7f
  const length = short === 126 ? buf.readUInt16BE(2) : short === 127 ? Number(buf.readBigUInt64BE(2)) : short
  return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x07, opcode: b0 & 0x0f, masked, length, size }
}

const unmask = (data: Buffer, mask: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ mask[i & 3]!
  return out
}

/** The first complete frame in `buf` and how many bytes it took, or undefined while it is incomplete. */
export const decodeFrame = (buf: Buffer): { readonly frame: Frame; readonly bytes: number } | undefined => {
  const header = readHeader(buf)
  if (header === undefined || buf.length - header.size < header.length) return undefined
  const bytes = header.size + header.length
  const mask = header.masked ? Buffer.from(buf.subarray(header.size - 4, header.size)) : undefined
  const data = buf.subarray(header.size, bytes)
  const payload = mask === undefined ? Buffer.from(data) : unmask(data, mask)
  return { frame: { fin: header.fin, rsv: header.rsv, opcode: header.opcode, mask, payload }, bytes }
}

/** The frame on the wire, with the shortest length encoding RFC 6455 allows (and requires). */
export const encodeFrame = (frame: Frame): Buffer => {
  const n = frame.payload.length
  const extra = n < 126 ? 0 : n <= 0xffff ? 2 : 8
  const head = Buffer.alloc(2 + extra + (frame.mask === undefined ? 0 : 4))
  head[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv & 0x07) << 4) | (frame.opcode & 0x0f)
  head[1] = (frame.mask === undefined ? 0 : 0x80) | (extra === 0 ? n : extra === 2 ? 126 : 127)
  if (extra === 2) head.writeUInt16BE(n, 2)
  else if (extra === 8) head.writeBigUInt64BE(BigInt(n), 2)
  if (frame.mask === undefined) return Buffer.concat([head, frame.payload])
  frame.mask.copy(head, 2 + extra)
  return Buffer.concat([head, unmask(frame.payload, frame.mask)])
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * The `connect` request with the gateway's secret in `params.auth.password`, or undefined when the
 * text is not a connect request or already carries a password. Whatever else the browser put in
 * `auth` stays: when the secret does not match, the gateway falls back to the device token.
 */
export const withGatewaySecret = (text: string, secret: string): string | undefined => {
  let request: unknown
  try {
    request = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(request) || request.type !== "req" || request.method !== "connect" || !isRecord(request.params)) return undefined
  const auth = request.params.auth
  if (auth === undefined) request.params.auth = { password: secret }
  else if (isRecord(auth) && auth.password === undefined) auth.password = secret
  else return undefined
  return JSON.stringify(request)
}

/**
 * Joins the browser's side of an upgraded WebSocket to the gateway's, rewriting the first data
 * frame when it is the `connect` request (see `withGatewaySecret`). Control frames before it go
 * through as they are and inspection goes on; any other first data frame (binary, fragmented,
 * compressed) ends it unchanged, as the gateway will refuse that by itself. After that one
 * frame the sockets are piped, byte for byte. `head` holds bytes the browser sent with its upgrade.
 * A first text frame over the gateway's pre-auth limit ends both sockets.
 */
export const forwardClientFrames = (client: Duplex, upstream: Duplex, head: Buffer, secret: string): void => {
  // Chunks are only joined once enough bytes for the next step are in: a frame trickling in a
  // byte at a time must not cost a copy of everything so far per byte.
  let chunks: Array<Buffer> = head.length > 0 ? [head] : []
  let buffered = head.length
  let want = 2
  let done = false

  const finish = (rest: Buffer) => {
    done = true
    client.off("data", onData)
    if (rest.length > 0) upstream.write(rest)
    client.pipe(upstream)
  }

  const inspect = () => {
    let pending = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    const wait = (bytes: number) => {
      chunks = pending.length > 0 ? [pending] : []
      buffered = pending.length
      want = bytes
    }
    for (;;) {
      const header = readHeader(pending)
      if (header === undefined) return wait(pending.length < 2 ? 2 : headerSize(pending[1]!))
      if (header.opcode >= 0x8 && header.fin && header.length <= 125) {
        const bytes = header.size + header.length
        if (pending.length < bytes) return wait(bytes)
        upstream.write(pending.subarray(0, bytes))
        pending = pending.subarray(bytes)
        continue
      }
      if (!header.fin || header.rsv !== 0 || header.opcode !== 0x1 || !header.masked) return finish(pending)
      if (header.length > MAX_FIRST_FRAME_PAYLOAD) {
        done = true
        client.destroy()
        upstream.destroy()
        return
      }
      const decoded = decodeFrame(pending)
      if (decoded === undefined) return wait(header.size + header.length)
      const { frame, bytes } = decoded
      const rewritten = isUtf8(frame.payload) ? withGatewaySecret(frame.payload.toString("utf8"), secret) : undefined
      upstream.write(
        rewritten === undefined
          ? pending.subarray(0, bytes)
          : encodeFrame({ ...frame, mask: randomBytes(4), payload: Buffer.from(rewritten) })
      )
      return finish(pending.subarray(bytes))
    }
  }

  const onData = (chunk: Buffer) => {
    chunks.push(chunk)
    buffered += chunk.length
    if (buffered >= want) inspect()
  }

  if (buffered >= want) inspect()
  if (!done) client.on("data", onData)
}
