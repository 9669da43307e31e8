import * as net from "node:net"
import type { ResolvedAddress } from "./decide.ts"

export type Connected =
  | { readonly ok: true; readonly socket: net.Socket }
  | { readonly ok: false; readonly status: 502 | 504; readonly reason: "upstream-unreachable" | "upstream-timeout" }

/**
 * Opens a TCP connection to the first of the vetted addresses that answers, in the resolver's
 * order, within one deadline for all of them. It connects to addresses, never to the name: a
 * second resolution could answer differently (DNS rebinding) and would bypass the address checks.
 * `abandoned` is asked between attempts so a client that went away stops the walk.
 */
export const connectVetted = (
  addresses: ReadonlyArray<ResolvedAddress>,
  port: number,
  timeoutMs: number,
  abandoned: () => boolean
): Promise<Connected> =>
  new Promise((resolve) => {
    let index = 0
    let current: net.Socket | undefined
    let settled = false
    const settle = (result: Connected) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    const timer = setTimeout(() => {
      current?.destroy()
      settle({ ok: false, status: 504, reason: "upstream-timeout" })
    }, timeoutMs)
    const attempt = () => {
      const next = addresses[index++]
      if (next === undefined || abandoned()) {
        settle({ ok: false, status: 502, reason: "upstream-unreachable" })
        return
      }
      const socket = net.connect({ host: next.address, port, family: next.family === 6 ? 6 : 4, noDelay: true })
      current = socket
      const onError = () => {
        socket.destroy()
        if (!settled) attempt()
      }
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        if (settled) socket.destroy()
        else settle({ ok: true, socket })
      })
    }
    attempt()
  })
