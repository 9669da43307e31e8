/**
 * An existing company portal (Express) that gives employees their own OpenClaw assistant.
 *
 * Uses only `@clawfleet/core/promise` — no Effect in this file. Two routes are added:
 *   POST /admin/assistants  { email, displayName, team? }  (admins only)
 *   GET  /me/assistant                                     (the signed-in employee)
 *
 * Run it: `node --conditions=@clawfleet/source packages/examples/embed-portal/portal.ts`
 * (stores in an embedded PGlite database, or in Postgres when DATABASE_URL is set).
 */
import type { AddressInfo } from "node:net"
import { type ClawfleetClient, createClawfleet, type StoreOption } from "@clawfleet/core/promise"
import express, { type NextFunction, type Request, type Response } from "express"

export interface PortalOptions {
  readonly fleet: ClawfleetClient
  /** E-mail addresses allowed to call the admin routes. */
  readonly admins: ReadonlyArray<string>
}

// ---- The portal's own auth ------------------------------------------------------------------
// FAKE, FOR THE EXAMPLE ONLY: the signed-in user is whatever the `x-portal-user` header says.
// A real portal takes this from its session cookie / SSO middleware, never from a client header.
const signedInUser = (req: Request): string | undefined => {
  const user = req.header("x-portal-user")?.trim().toLowerCase()
  return user === undefined || user === "" ? undefined : user
}

/**
 * clawfleet person ids are DNS labels; the portal knows people by e-mail. The facade has no
 * "find person by e-mail", so the id is derived from the e-mail's local part ("ada@x.com" → "ada"),
 * capped at 40 characters (the tenant, named after the person, follows OpenClaw's 1–40 rule).
 * Two e-mails with the same local part collide: the second one gets a 409.
 */
export const personIdFor = (email: string): string =>
  (email.split("@")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "")

interface ErrorLike {
  readonly _tag?: unknown
  readonly message?: unknown
  readonly issues?: unknown
  readonly reason?: { readonly _tag?: unknown }
  readonly type?: unknown
}

class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/** clawfleet's typed errors (matched by `_tag`, since this file imports nothing but the facade) → HTTP. */
const errorResponse = (error: unknown): { readonly status: number; readonly body: Record<string, unknown> } => {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message } }
  const e = (typeof error === "object" && error !== null ? error : {}) as ErrorLike
  const message = typeof e.message === "string" ? e.message : String(error)
  switch (e._tag) {
    case "ValidationError":
      return { status: 400, body: { error: "ValidationError", message, issues: e.issues } }
    case "InvalidState":
      return { status: 409, body: { error: "InvalidState", message } }
    case "StoreError": {
      const reason = e.reason?._tag
      const status = reason === "NotFound" ? 404 : reason === "Unavailable" ? 503 : reason === "Corrupt" ? 500 : 409
      return { status, body: { error: "StoreError", reason, message } }
    }
  }
  if (e.type === "entity.parse.failed") return { status: 400, body: { error: "request body is not valid JSON" } }
  return { status: 500, body: { error: "internal error" } }
}

const isNotFound = (error: unknown): boolean => {
  const e = error as ErrorLike | undefined
  return e?._tag === "StoreError" && e.reason?._tag === "NotFound"
}

/** The person and their assistant (if any), or undefined when nobody has that id. */
const lookup = async (fleet: ClawfleetClient, id: string) => {
  const person = await fleet.getPerson(id).catch((error: unknown) => {
    if (isNotFound(error)) return undefined
    throw error
  })
  if (person === undefined) return undefined
  const page = await fleet.listTenants({ owner: id })
  return { person, tenant: page.items[0]?.value }
}

type Looked = NonNullable<Awaited<ReturnType<typeof lookup>>>

const view = ({ person, tenant }: { readonly person: Looked["person"]; readonly tenant?: Looked["tenant"] | undefined }) => ({
  person: { id: person.id, email: person.email, displayName: person.displayName, team: person.team ?? null },
  assistant: tenant === undefined ? null : { name: tenant.name, phase: tenant.status.phase }
})

export const createPortal = ({ fleet, admins }: PortalOptions): express.Express => {
  const adminSet = new Set(admins.map((a) => a.toLowerCase()))
  const app = express()
  app.use(express.json())

  // The portal's existing pages would be here.
  app.get("/", (_req, res) => {
    res.type("text").send("ACME intranet")
  })

  app.post("/admin/assistants", async (req, res) => {
    const admin = signedInUser(req)
    if (admin === undefined) throw new HttpError(401, "sign in first")
    if (!adminSet.has(admin)) throw new HttpError(403, "administrators only")
    const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<string, unknown>
    const { email, displayName, team } = body
    const id = typeof email === "string" ? personIdFor(email) : ""

    // Idempotent: an employee who already has one gets the existing one back (200).
    if (id !== "") {
      const existing = await lookup(fleet, id)
      if (existing !== undefined) {
        if (typeof email === "string" && existing.person.email.toLowerCase() !== email.toLowerCase()) {
          throw new HttpError(409, `person id "${id}" already belongs to ${existing.person.email}`)
        }
        res.status(200).json(view(existing))
        return
      }
    }
    // Anything malformed (bad e-mail, empty name, unknown team) is refused by clawfleet itself:
    // its ValidationError names each field and becomes a 400 below.
    const person = { id, email, displayName, ...(team === undefined ? {} : { team }) } as Parameters<
      ClawfleetClient["onboardPerson"]
    >[0]["person"]
    try {
      const created = await fleet.withActor(`portal:${admin}`).onboardPerson({ person })
      res.status(201).json(view(created))
    } catch (error) {
      // Two admins clicking at once: the loser answers with the winner's result.
      const e = error as ErrorLike
      if (e._tag === "StoreError" && e.reason?._tag === "AlreadyExists") {
        const existing = await lookup(fleet, id)
        if (existing !== undefined) {
          res.status(200).json(view(existing))
          return
        }
      }
      throw error
    }
  })

  app.get("/me/assistant", async (req, res) => {
    const user = signedInUser(req)
    if (user === undefined) throw new HttpError(401, "sign in first")
    const found = await lookup(fleet, personIdFor(user))
    if (found === undefined || found.person.email.toLowerCase() !== user) {
      throw new HttpError(404, "you have no assistant yet: ask an administrator")
    }
    if (found.tenant === undefined) throw new HttpError(404, "you have no assistant yet: ask an administrator")
    const { status } = found.tenant
    res.json({
      name: found.tenant.name,
      phase: status.phase,
      conditions: status.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
      // The facade offers no pairing/open link (that lives in the Effect API's PairingLinks and
      // the server's routes), so the portal shows the status only.
      pairingLink: null
    })
  })

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = errorResponse(error)
    if (status >= 500) console.error(error)
    res.status(status).json(body)
  })
  return app
}

/** The embedded store unless DATABASE_URL points at the portal's own Postgres. */
export const storeFromEnv = (env: NodeJS.ProcessEnv = process.env): StoreOption =>
  env.DATABASE_URL ? { postgres: env.DATABASE_URL } : { pglite: { dataDir: env.CLAWFLEET_DATA_DIR ?? "./.clawfleet-data" } }

/** Starts the portal; resolves once it listens. `close` stops the server and the clawfleet client. */
export const startPortal = async (options: {
  readonly store?: StoreOption
  readonly admins: ReadonlyArray<string>
  readonly port?: number
}) => {
  const fleet = await createClawfleet({ store: options.store ?? "memory", actor: "portal" })
  const app = createPortal({ fleet, admins: options.admins })
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const s = app.listen(options.port ?? 0, (error?: Error) => (error ? reject(error) : resolve(s)))
  })
  const port = (server.address() as AddressInfo).port
  return {
    fleet,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fleet.dispose()
    }
  }
}

if (import.meta.main) {
  const admins = (process.env.PORTAL_ADMINS ?? "admin@example.com").split(",").map((a) => a.trim())
  const portal = await startPortal({ store: storeFromEnv(), admins, port: Number(process.env.PORT ?? 3000) })
  console.log(`portal on ${portal.url} (admins: ${admins.join(", ")})`)
  const stop = () => void portal.close().then(() => process.exit(0))
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}
