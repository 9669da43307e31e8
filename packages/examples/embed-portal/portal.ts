/**
 * An existing company portal (Express) that gives employees their own OpenClaw assistant.
 *
 * Uses only `@clawfleet/core/promise` — no Effect in this file. Three routes are added:
 *   POST /admin/assistants  { email, displayName, team? }  (admins only)
 *   GET  /me/assistant                                     (the signed-in employee)
 *   GET  /me/assistant/open                                (the signed-in employee, in a browser)
 *
 * Run it: `node --conditions=@clawfleet/source packages/examples/embed-portal/portal.ts`
 * (stores in an embedded PGlite database, or in Postgres when DATABASE_URL is set).
 */
import type { AddressInfo } from "node:net"
import {
  type ClawfleetClient,
  createClawfleet,
  isAlreadyExists,
  isClawfleetError,
  isPairingError,
  isValidationError,
  type PairingOptions,
  type Person,
  type StoreOption,
  type Tenant
} from "@clawfleet/core/promise"
import express, { type NextFunction, type Request, type Response } from "express"

export interface PortalOptions {
  readonly fleet: ClawfleetClient
  /** E-mail addresses allowed to call the admin routes. */
  readonly admins: ReadonlyArray<string>
}

// ---- The portal's own auth ------------------------------------------------------------------
// FAKE, FOR THE EXAMPLE ONLY: the signed-in user is whatever the `x-portal-user` header says.
// A real portal takes this from its session cookie / SSO middleware, never from a client header.
const signedInUser = (req: Request): string => {
  const user = req.header("x-portal-user")?.trim().toLowerCase()
  if (user === undefined || user === "") throw new HttpError(401, "sign in first")
  return user
}

/**
 * A new person needs an id, and clawfleet person ids are DNS labels: derived from the e-mail's
 * local part ("ada@x.com" → "ada"), capped at 40 characters (the tenant, named after the person,
 * follows OpenClaw's 1–40 rule). People are found by e-mail afterwards, so the id matters only
 * here: a second e-mail with the same local part gets a 409.
 */
export const personIdFor = (email: string): string =>
  (email.split("@")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "")

class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const PAIRING_STATUS = { Forbidden: 403, Disabled: 403, NotReady: 503, NoEndpoint: 409, Deleting: 409 } as const
const STORE_STATUS = { NotFound: 404, AlreadyExists: 409, Conflict: 409, Unavailable: 503, Corrupt: 500 } as const

/** clawfleet's typed errors → HTTP, through the guards the facade exports. */
const errorResponse = (error: unknown): { readonly status: number; readonly body: Record<string, unknown> } => {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message } }
  if (isClawfleetError(error)) {
    const { _tag, message } = error
    if (isValidationError(error)) return { status: 400, body: { error: _tag, message, issues: error.issues } }
    if (isPairingError(error)) return { status: PAIRING_STATUS[error.reason], body: { error: _tag, reason: error.reason, message } }
    if (error._tag === "InvalidState") return { status: 409, body: { error: _tag, message } }
    return { status: STORE_STATUS[error.reason._tag], body: { error: _tag, reason: error.reason._tag, message } }
  }
  if ((error as { type?: unknown } | undefined)?.type === "entity.parse.failed") {
    return { status: 400, body: { error: "request body is not valid JSON" } }
  }
  return { status: 500, body: { error: "internal error" } }
}

/** The person with this e-mail and their assistant (if any), or undefined when nobody has it. */
const lookup = async (fleet: ClawfleetClient, email: string) => {
  const person = await fleet.findPersonByEmail(email)
  if (person === undefined) return undefined
  const page = await fleet.listTenants({ owner: person.id })
  return { person, tenant: page.items[0]?.value }
}

const view = ({ person, tenant }: { readonly person: Person; readonly tenant?: Tenant | undefined }) => ({
  person: { id: person.id, email: person.email, displayName: person.displayName, team: person.team ?? null },
  assistant: tenant === undefined ? null : { name: tenant.name, phase: tenant.status.phase }
})

/** The signed-in employee's own assistant: nobody can name another's. */
const myAssistant = async (fleet: ClawfleetClient, user: string) => {
  const found = await lookup(fleet, user)
  if (found?.tenant === undefined) throw new HttpError(404, "you have no assistant yet: ask an administrator")
  return { person: found.person, tenant: found.tenant }
}

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
    if (!adminSet.has(admin)) throw new HttpError(403, "administrators only")
    const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<string, unknown>
    const { email, displayName, team } = body
    // Anything malformed (bad e-mail, empty name, unknown team) is refused by clawfleet itself:
    // its ValidationError names each field and becomes a 400.
    const person = { id: typeof email === "string" ? personIdFor(email) : "", email, displayName, ...(team === undefined ? {} : { team }) }

    // Idempotent: an employee who already has one gets the existing one back (200).
    const existing = await lookup(fleet, email as string)
    if (existing !== undefined) {
      res.status(200).json(view(existing))
      return
    }
    try {
      const created = await fleet
        .withActor(`portal:${admin}`)
        .onboardPerson({ person: person as Parameters<ClawfleetClient["onboardPerson"]>[0]["person"] })
      res.status(201).json(view(created))
    } catch (error) {
      if (!isAlreadyExists(error)) throw error
      // Two admins clicking at once: the loser answers with the winner's result.
      const winner = await lookup(fleet, email as string)
      if (winner === undefined) throw new HttpError(409, `person id "${person.id}" is taken by another e-mail address`)
      res.status(200).json(view(winner))
    }
  })

  app.get("/me/assistant", async (req, res) => {
    const { tenant } = await myAssistant(fleet, signedInUser(req))
    res.json({
      name: tenant.name,
      phase: tenant.status.phase,
      conditions: tenant.status.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
      open: "/me/assistant/open"
    })
  })

  // A plain link on the portal's page: a fresh single-use pairing link each time, as the employee.
  // clawfleet refuses a link to anyone but the tenant's owner, should this code ever ask for one.
  app.get("/me/assistant/open", async (req, res) => {
    const user = signedInUser(req)
    const { person, tenant } = await myAssistant(fleet, user)
    try {
      const link = await fleet.withActor(`portal:${user}`).pairingLink(tenant.name, { person: person.id, waitMs: 20_000 })
      res.set("cache-control", "no-store").redirect(303, link.url)
    } catch (error) {
      if (isPairingError(error) && error.isRetryable) res.set("retry-after", "5")
      throw error
    }
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

/**
 * Pairing links are redeemed by the tenant agents of the control plane at CLAWFLEET_PUBLIC_URL,
 * which must share the portal's store (and its key-encryption key).
 */
export const pairingFromEnv = (env: NodeJS.ProcessEnv = process.env): PairingOptions => ({
  controlPlaneUrl: env.CLAWFLEET_PUBLIC_URL ?? "http://127.0.0.1:8080",
  keyEncryptionKey: env.CLAWFLEET_KEY_ENCRYPTION_KEY
})

/** Starts the portal; resolves once it listens. `close` stops the server and the clawfleet client. */
export const startPortal = async (options: {
  readonly store?: StoreOption
  readonly pairing?: PairingOptions
  readonly admins: ReadonlyArray<string>
  readonly port?: number
}) => {
  const fleet = await createClawfleet({ store: options.store ?? "memory", actor: "portal", pairing: options.pairing })
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
  const portal = await startPortal({ store: storeFromEnv(), pairing: pairingFromEnv(), admins, port: Number(process.env.PORT ?? 3000) })
  console.log(`portal on ${portal.url} (admins: ${admins.join(", ")})`)
  const stop = () => void portal.close().then(() => process.exit(0))
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}
