import { createHash, randomBytes } from "node:crypto"

/** A browser paired with this tenant's assistant. */
export interface AgentSession {
  readonly person: string
  readonly expiresAt: number
}

const hash = (cookie: string) => createHash("sha256").update(cookie).digest("hex")

/**
 * The agent's sessions, in its own memory: one agent serves one tenant, and a restart only asks
 * the person to pair again. Cookies are kept hashed, so a heap dump holds none.
 */
export class AgentSessions {
  private readonly byHash = new Map<string, AgentSession>()
  private readonly ttlMs: number

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs
  }

  open(person: string, now: number): string {
    this.sweep(now)
    const cookie = randomBytes(32).toString("base64url")
    this.byHash.set(hash(cookie), { person, expiresAt: now + this.ttlMs })
    return cookie
  }

  find(cookie: string | undefined, now: number): AgentSession | undefined {
    if (cookie === undefined || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined
    const session = this.byHash.get(hash(cookie))
    if (session === undefined || session.expiresAt <= now) return undefined
    return session
  }

  /** Ends every session (the tenant's key or the person's access was revoked). */
  clear(): void {
    this.byHash.clear()
  }

  private sweep(now: number): void {
    if (this.byHash.size < 1024) return
    for (const [k, s] of this.byHash) if (s.expiresAt <= now) this.byHash.delete(k)
  }
}

/** The Cookie header without cookie `name`: the gateway never sees the agent's session. */
export const withoutCookie = (header: string | undefined, name: string): string | undefined => {
  if (header === undefined) return undefined
  const rest = header
    .split(";")
    .filter((part) => part.split("=", 1)[0]?.trim() !== name)
    .join(";")
    .trim()
  return rest === "" ? undefined : rest
}
