import { createServer } from "node:net"

const HOST = "127.0.0.1"

/** Listens on `port` (0: any) on loopback and closes again; resolves with the port, or undefined when taken. */
const tryListen = (port: number) =>
  new Promise<number | undefined>((resolve) => {
    const server = createServer()
    server.unref()
    server.once("error", () => resolve(undefined))
    server.listen({ port, host: HOST, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === "object" && address !== null ? address.port : undefined
      server.close(() => resolve(bound))
    })
  })

/**
 * A loopback port for a gateway: `preferred` when it is free and no one in `taken` holds it,
 * else one the kernel hands out. Another program may still take the port before the gateway
 * binds it; the gateway then fails to start, and the next attempt picks another.
 */
export const choosePort = async (preferred: number | undefined, taken: ReadonlySet<number>): Promise<number> => {
  if (preferred !== undefined && !taken.has(preferred) && (await tryListen(preferred)) === preferred) return preferred
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tryListen(0)
    if (port !== undefined && !taken.has(port)) return port
  }
  throw new Error("no free loopback port")
}
