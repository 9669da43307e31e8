import { FakeLlm, type FakeLlmOptions } from "@clawfleet/core/testing"
import { Effect } from "effect"

// Runs `body` against a fresh server, closed when the test ends.
export const withFake = <A, E>(body: (fake: FakeLlm["Service"]) => Effect.Effect<A, E>, options?: FakeLlmOptions) =>
  Effect.gen(function* () {
    return yield* body(yield* FakeLlm)
  }).pipe(Effect.provide(FakeLlm.layer(options)))

export const call = <A>(f: () => Promise<A>) => Effect.promise(f)

export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

export interface Sse {
  readonly event: string | undefined
  readonly data: string
}

// A small SSE parser written against the spec, independent of the fake's encoder.
export const parseSse = (text: string): Array<Sse> =>
  text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      let event: string | undefined
      const data: Array<string> = []
      for (const line of block.split(/\r?\n/)) {
        const colon = line.indexOf(":")
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "event") event = value
        else if (field === "data") data.push(value)
      }
      return { event, data: data.join("\n") }
    })

export const json = (e: Sse): any => JSON.parse(e.data)

/** Reads a body to its end or its failure, keeping what arrived before a failure. */
export const readAll = async (res: Response): Promise<{ readonly text: string; readonly error: unknown }> => {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ""
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text, error: undefined }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

export const chat = (extra: Record<string, unknown> = {}) => ({ model: "gpt-4.1", messages: [{ role: "user", content: "Hi" }], ...extra })
export const claude = (extra: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 100,
  messages: [{ role: "user", content: "Hi" }],
  ...extra
})
export const words = (text: string) => text.split(" ").filter((w) => w !== "").length
