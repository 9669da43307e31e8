import { randomBytes } from "node:crypto"
import * as http from "node:http"
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import fc from "fast-check"
import { WebSocket, WebSocketServer } from "ws"
import { decodeFrame, encodeFrame, type Frame, MAX_FIRST_FRAME_PAYLOAD, readHeader, withGatewaySecret } from "../src/agent/connectFrame.ts"
import { makeTenantAgent, SESSION_COOKIE } from "../src/agent/TenantAgent.ts"

const GATEWAY_TOKEN = "gw-secret-token"

interface Received {
  readonly data: Buffer
  readonly binary: boolean
}

interface Rig {
  readonly agentPort: number
  readonly wsUrl: string
  readonly cookie: string
  /** The upgrade requests' headers as the gateway got them. */
  readonly upgrades: Array<http.IncomingHttpHeaders>
  /** Every message the gateway got, across connections, in order. */
  readonly received: Array<Received>
}

const listening = (server: http.Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)))

const closing = (server: http.Server) => {
  server.closeAllConnections()
  return new Promise<void>((resolve) => server.close(() => resolve()))
}

/** Polls until `check` holds; a socket test has nothing better to wait on than its effect. */
const eventually = async (check: () => boolean, what: string) => {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The promise's value, or a failure after 5 s rather than at the test runner's timeout. */
const within = <A>(promise: Promise<A>, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5_000))])

/**
 * A gateway that speaks like OpenClaw's first steps (a `connect.challenge`, then whatever the client
 * sends), offers compression if asked, and records what it got; an agent in front of it with a
 * session already open for ada.
 */
const withRig = async (body: (rig: Rig) => Promise<void>) => {
  const upgrades: Array<http.IncomingHttpHeaders> = []
  const received: Array<Received> = []
  const gateway = http.createServer((_req, res) => res.writeHead(404).end())
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true, maxPayload: 1 << 20 })
  gateway.on("upgrade", (req, socket, head) => {
    upgrades.push(req.headers)
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "nonce-1", ts: 1 } }))
      ws.on("message", (data, binary) => received.push({ data: data as Buffer, binary }))
    })
  })
  const gatewayPort = await listening(gateway)
  const agent = makeTenantAgent({
    tenant: "ada",
    controlPlaneUrl: "http://127.0.0.1:9",
    issuer: "https://clawfleet.test",
    tenantKey: Redacted.make("unused"),
    gateway: { url: `http://127.0.0.1:${gatewayPort}`, token: Redacted.make(GATEWAY_TOKEN) },
    secureCookie: false
  })
  const server = http.createServer(agent.request)
  server.on("upgrade", agent.upgrade)
  const agentPort = await listening(server)
  const cookie = `${SESSION_COOKIE}_ada=${agent.sessions.open("ada", Date.now())}`
  try {
    await body({ agentPort, wsUrl: `ws://127.0.0.1:${agentPort}/ws`, cookie, upgrades, received })
  } finally {
    for (const socket of agent.tunnels) socket.destroy()
    for (const client of wss.clients) client.terminate()
    wss.close()
    await closing(server)
    await closing(gateway)
  }
}

/** A browser: opens the socket through the agent and waits for the gateway's challenge. */
const browser = (rig: Rig, headers: Record<string, string> = {}) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(rig.wsUrl, { headers: { cookie: rig.cookie, ...headers } })
    ws.once("message", () => resolve(ws))
    ws.once("error", reject)
  })

const connectRequest = (auth: Record<string, unknown> | undefined) => ({
  type: "req",
  id: "c-1",
  method: "connect",
  params: {
    minProtocol: 3,
    maxProtocol: 3,
    client: { id: "openclaw-control-ui", version: "2026.9.6", platform: "web", mode: "webchat" },
    role: "operator",
    scopes: ["operator.admin", "operator.approvals"],
    ...(auth === undefined ? {} : { auth }),
    device: { id: "device-1", publicKey: "cHVibGljLWtleQ", signature: "c2lnbmF0dXJl", signedAt: 1_790_000_000_000, nonce: "nonce-1" },
    locale: "de-CH",
    userAgent: "Mozilla/5.0 (ünïcødé ✓)"
  }
})

const json = (r: Received) => JSON.parse(r.data.toString("utf8"))

/** An upgrade written by hand, so the test controls every byte that follows it. */
const rawUpgrade = (rig: Rig) =>
  new Promise<{ socket: net.Socket; response: string; rest: Buffer }>((resolve, reject) => {
    const socket = net.connect({ port: rig.agentPort, host: "127.0.0.1", noDelay: true }, () =>
      socket.write(
        [
          "GET /ws HTTP/1.1",
          `host: 127.0.0.1:${rig.agentPort}`,
          "upgrade: websocket",
          "connection: Upgrade",
          `sec-websocket-key: ${randomBytes(16).toString("base64")}`,
          "sec-websocket-version: 13",
          "sec-websocket-extensions: permessage-deflate; client_max_window_bits",
          `cookie: ${rig.cookie}`,
          "",
          ""
        ].join("\r\n")
      )
    )
    let buf = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf("\r\n\r\n")
      if (end < 0) return
      socket.off("data", onData)
      socket.pause()
      resolve({ socket, response: buf.subarray(0, end).toString("latin1"), rest: buf.subarray(end + 4) })
    }
    socket.on("data", onData)
    socket.once("error", reject)
  })

/** The frames the gateway sends back on a raw socket. */
const serverFrames = (socket: net.Socket, rest: Buffer) => {
  const frames: Array<Frame> = []
  let buf = rest
  const take = () => {
    for (let d = decodeFrame(buf); d !== undefined; d = decodeFrame(buf)) {
      frames.push(d.frame)
      buf = buf.subarray(d.bytes)
    }
  }
  take()
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    take()
  })
  socket.resume()
  return frames
}

const text = (payload: string | Buffer, opcode = 0x1): Frame => ({
  fin: true,
  rsv: 0,
  opcode,
  mask: randomBytes(4),
  payload: Buffer.from(payload)
})

describe("tenant agent: the gateway's secret in the connect request", () => {
  it("adds the secret as auth.password, keeps everything else, and passes every later frame as sent", async () => {
    await withRig(async (rig) => {
      const ws = await browser(rig, { "x-forwarded-user": "bob", "x-forwarded-for": "10.0.0.1", "x-clawfleet-person": "bob" })
      expect(ws.extensions).toBe("")
      const sent = connectRequest({ token: "browser-token", deviceToken: "device-token" })
      ws.send(JSON.stringify(sent))
      const later: Array<Received> = [
        { data: Buffer.from(JSON.stringify(connectRequest(undefined))), binary: false },
        { data: Buffer.from([0, 1, 2, 0x81, 0xfe, 0xff]), binary: true },
        { data: Buffer.from("ä".repeat(100_000)), binary: false },
        { data: randomBytes(300_000), binary: true },
        { data: Buffer.from("last"), binary: false }
      ]
      for (const m of later) ws.send(m.binary ? m.data : m.data.toString("utf8"))
      await eventually(() => rig.received.length === 1 + later.length, "every message")

      const first = rig.received[0]!
      expect(first.binary).toBe(false)
      expect(json(first)).toEqual({ ...sent, params: { ...sent.params, auth: { ...sent.params.auth, password: GATEWAY_TOKEN } } })
      expect(rig.received.slice(1)).toEqual(later)

      const headers = rig.upgrades[0]!
      expect(headers["x-clawfleet-person"]).toBe("ada")
      expect(Object.keys(headers).filter((h) => h.startsWith("x-forwarded-") || h === "forwarded" || h === "x-real-ip")).toEqual([])
      expect(headers["sec-websocket-extensions"]).toBeUndefined()
      expect(headers.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`)
      expect(headers.cookie).toBeUndefined()
      ws.close()
    })
  })

  it("adds auth when the browser sent none, and leaves a password the browser sent", async () => {
    await withRig(async (rig) => {
      const bare = await browser(rig)
      const sent = connectRequest(undefined)
      bare.send(JSON.stringify(sent))
      await eventually(() => rig.received.length === 1, "the bare connect")
      expect(json(rig.received[0]!)).toEqual({ ...sent, params: { ...sent.params, auth: { password: GATEWAY_TOKEN } } })

      const own = await browser(rig)
      const raw = JSON.stringify(connectRequest({ password: "the-browser's-own", token: "t" }), null, 2)
      own.send(raw)
      await eventually(() => rig.received.length === 2, "the connect with a password")
      expect(rig.received[1]!.data.toString("utf8")).toBe(raw)
      bare.close()
      own.close()
    })
  })

  it("rewrites a connect that arrives a byte at a time, after a ping that still gets its pong", async () => {
    await withRig(async (rig) => {
      const { socket, response, rest } = await rawUpgrade(rig)
      expect(response).toMatch(/^HTTP\/1\.1 101 /)
      expect(response.toLowerCase()).not.toContain("sec-websocket-extensions")
      const frames = serverFrames(socket, rest)
      const sent = connectRequest({ token: "browser-token" })
      const wire = Buffer.concat([
        encodeFrame(text("still there?", 0x9)),
        encodeFrame(text(JSON.stringify(sent))),
        encodeFrame(text("next"))
      ])
      for (const byte of wire) {
        socket.write(Buffer.from([byte]))
        await new Promise((resolve) => setImmediate(resolve))
      }
      await eventually(() => rig.received.length === 2, "both messages")
      expect(json(rig.received[0]!)).toEqual({
        ...sent,
        params: { ...sent.params, auth: { token: "browser-token", password: GATEWAY_TOKEN } }
      })
      expect(rig.received[1]!.data.toString("utf8")).toBe("next")
      await eventually(() => frames.some((f) => f.opcode === 0xa), "the pong")
      expect(frames.find((f) => f.opcode === 0xa)!.payload.toString("utf8")).toBe("still there?")
      expect(rig.upgrades[0]!["sec-websocket-extensions"]).toBeUndefined()
      socket.destroy()
    })
  })

  it("passes a first frame that is not a connect request unchanged, and rewrites nothing after it", async () => {
    await withRig(async (rig) => {
      const ws = await browser(rig)
      const health = ' {"type":"req", "id":"h","method":"health","params":{}}'
      const connect = JSON.stringify(connectRequest({ token: "t" }))
      ws.send(health)
      ws.send(connect)
      await eventually(() => rig.received.length === 2, "both messages")
      expect(rig.received.map((r) => r.data.toString("utf8"))).toEqual([health, connect])

      // Fragmented, the first frame is not looked into either.
      const fragmented = await browser(rig)
      fragmented.send(connect.slice(0, 40), { fin: false })
      fragmented.send(connect.slice(40), { fin: true })
      await eventually(() => rig.received.length === 3, "the fragmented connect")
      expect(rig.received[2]!.data.toString("utf8")).toBe(connect)

      // Exactly at the limit is still forwarded.
      const atLimit = await browser(rig)
      const big = "a".repeat(MAX_FIRST_FRAME_PAYLOAD)
      atLimit.send(big)
      await eventually(() => rig.received.length === 4, "the frame at the limit")
      expect(rig.received[3]!.data.toString("utf8")).toBe(big)
      for (const s of [ws, fragmented, atLimit]) s.close()
    })
  })

  it("closes the connection when the first text frame is over the gateway's pre-auth limit", async () => {
    await withRig(async (rig) => {
      const { socket, response } = await rawUpgrade(rig)
      expect(response).toMatch(/^HTTP\/1\.1 101 /)
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
      socket.resume()
      const wire = encodeFrame(text("x".repeat(MAX_FIRST_FRAME_PAYLOAD + 1)))
      socket.write(wire.subarray(0, 1000))
      await within(closed, "the agent to close the socket")
      expect(rig.received).toEqual([])

      const ws = await browser(rig)
      const code = new Promise<number>((resolve) => ws.once("close", (c) => resolve(c)))
      ws.send(JSON.stringify(connectRequest({ padding: "p".repeat(70_000) })))
      expect(await within(code, "the agent to close the WebSocket")).toBe(1006)
      expect(rig.received).toEqual([])
    })
  })
})

describe("connect frame rewriting", () => {
  it("refuses a person header that OpenClaw would take for a proxy's", () => {
    for (const userHeader of ["X-Forwarded-User", "forwarded", "x-real-ip"]) {
      expect(() =>
        makeTenantAgent({
          tenant: "ada",
          controlPlaneUrl: "http://127.0.0.1:9",
          issuer: "https://clawfleet.test",
          tenantKey: Redacted.make("unused"),
          gateway: { url: "http://127.0.0.1:9", token: Redacted.make(GATEWAY_TOKEN), userHeader }
        })
      ).toThrow(/refuse/)
    }
  })

  it("changes only connect requests without a password", () => {
    const token = "s3cret"
    expect(withGatewaySecret('{"type":"req","method":"connect","params":{"auth":{"token":"t"}}}', token)).toBe(
      '{"type":"req","method":"connect","params":{"auth":{"token":"t","password":"s3cret"}}}'
    )
    for (const unchanged of [
      "not json",
      "[]",
      "null",
      '{"type":"res","method":"connect","params":{}}',
      '{"type":"req","method":"health","params":{}}',
      '{"type":"req","method":"connect"}',
      '{"type":"req","method":"connect","params":[]}',
      '{"type":"req","method":"connect","params":{"auth":"token"}}',
      '{"type":"req","method":"connect","params":{"auth":{"password":""}}}'
    ]) {
      expect(withGatewaySecret(unchanged, token)).toBeUndefined()
    }
  })

  const boundaries = [0, 1, 125, 126, 127, 0xffff, 0x10000, 0x10001]
  const lengths = fc.oneof(
    fc.constantFrom(...boundaries),
    fc.integer({ min: -3, max: 3 }).chain((d) => fc.constantFrom(...[125, 126, 0xffff, 0x10000].map((b) => b + d))),
    fc.integer({ min: 0, max: 70_000 })
  )
  const frames = fc.record({
    fin: fc.boolean(),
    rsv: fc.integer({ min: 0, max: 7 }),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    length: lengths,
    seed: fc.integer({ min: 0, max: 0xffff })
  })
  const build = (f: { fin: boolean; rsv: number; opcode: number; masked: boolean; length: number; seed: number }): Frame => {
    const payload = Buffer.allocUnsafe(f.length)
    for (let i = 0, x = f.seed; i < f.length; i++) payload[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
    return {
      fin: f.fin,
      rsv: f.rsv,
      opcode: f.opcode,
      mask: f.masked ? Buffer.from([f.seed & 0xff, 0x5a, f.seed >> 8, 0xa5]) : undefined,
      payload
    }
  }

  it("decodes what it encodes, with the shortest length encoding, and waits for the whole frame", () => {
    fc.assert(
      fc.property(frames, frames, (a, b) => {
        const frame = build(a)
        const wire = encodeFrame(frame)
        const n = frame.payload.length
        const lengthBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8
        expect(wire.length).toBe(2 + lengthBytes + (frame.mask === undefined ? 0 : 4) + n)
        expect(readHeader(wire)).toEqual({
          fin: frame.fin,
          rsv: frame.rsv,
          opcode: frame.opcode,
          masked: frame.mask !== undefined,
          length: n,
          size: wire.length - n
        })
        // Followed by another frame, the first still comes out whole and alone.
        const next = encodeFrame(build(b))
        expect(decodeFrame(Buffer.concat([wire, next]))).toEqual({ frame, bytes: wire.length })
        expect(decodeFrame(next)?.bytes).toBe(next.length)
        for (const cut of new Set([0, 1, wire.length - n - 1, wire.length - 1])) {
          if (cut >= 0 && cut < wire.length) expect(decodeFrame(wire.subarray(0, cut))).toBeUndefined()
        }
        // Masked, the payload does not go on the wire as it is (the mask's second byte is never 0).
        if (frame.mask !== undefined && n > 1) {
          expect(wire.subarray(wire.length - n).equals(frame.payload)).toBe(false)
        }
      }),
      { numRuns: 300 }
    )
  })
})
