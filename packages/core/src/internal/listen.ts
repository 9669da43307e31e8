import type * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"

export interface Listening {
  readonly server: http.Server
  readonly port: number
  /** `http://host:port`, with an IPv6 host in brackets. */
  readonly origin: string
}

/**
 * Listens with a server the caller has configured (its options, listeners) until the scope closes.
 * Closing runs `onClose` first (to end what the server does not track, such as upgraded or
 * tunnelled sockets), then drops every connection, so no keep-alive socket holds the close open.
 */
export const listen = (
  server: http.Server,
  options: { readonly host?: string | undefined; readonly port?: number | undefined },
  onClose?: () => void
): Effect.Effect<Listening, never, Scope.Scope> => {
  const host = options.host ?? "127.0.0.1"
  return Effect.acquireRelease(
    Effect.callback<http.Server, Error>((resume) => {
      server.once("error", (e) => resume(Effect.fail(e)))
      server.listen(options.port ?? 0, host, () => resume(Effect.succeed(server)))
    }),
    (srv) =>
      Effect.callback<void>((resume) => {
        onClose?.()
        srv.closeAllConnections()
        srv.close(() => resume(Effect.void))
      })
  ).pipe(
    Effect.orDie,
    Effect.map((srv) => {
      const port = (srv.address() as AddressInfo).port
      return { server: srv, port, origin: `http://${host.includes(":") ? `[${host}]` : host}:${port}` }
    })
  )
}
