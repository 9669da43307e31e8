import type { ServerResponse } from "node:http"
import type { KubeObject } from "./Json.ts"
import type { ResourceType } from "./Resources.ts"
import { type FieldRequirement, type LabelSelector, labelsOf, matchesFields, matchesLabels } from "./Selectors.ts"
import { expired } from "./Status.ts"

/**
 * Watches: a bounded history of changes to resume from, newline-delimited JSON events per
 * connection, bookmarks, timeouts, and the faults tests inject (dropped and merged events, a
 * restart that closes every watch).
 */

export type EventType = "ADDED" | "MODIFIED" | "DELETED"

export interface StoreEvent {
  readonly rv: number
  readonly type: EventType
  readonly rt: ResourceType
  /** The object after the change; for DELETED, its last state. */
  readonly object: KubeObject
  /** The object before a MODIFIED change, to tell when it entered or left a watch's selector. */
  readonly previous?: KubeObject
}

export interface WatchRequest {
  readonly rt: ResourceType
  readonly namespace: string | undefined
  readonly labels: LabelSelector
  readonly fields: ReadonlyArray<FieldRequirement>
  /** Undefined (or "0") starts with the current state as ADDED events. */
  readonly resourceVersion: number | undefined
  readonly bookmarks: boolean
  readonly timeoutSeconds: number | undefined
}

interface Pending {
  readonly type: EventType | "BOOKMARK" | "ERROR"
  readonly object: unknown
  readonly rv: number
}

interface Watcher {
  readonly request: WatchRequest
  readonly res: ServerResponse
  readonly pending: Map<string, Pending>
  readonly timers: Array<NodeJS.Timeout>
  flush: NodeJS.Timeout | undefined
}

const keyOf = (obj: KubeObject) => `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`

export interface WatchOptions {
  readonly historyLimit: number
  readonly bookmarkIntervalMs: number
  readonly mergeWindowMs: number
  readonly currentRv: () => number
}

export class WatchHub {
  private history: Array<StoreEvent> = []
  // Every event after this resource version is still in `history`.
  private oldest = 0
  private readonly watchers = new Set<Watcher>()
  private dropping = 0
  private merging = false
  private readonly options: WatchOptions

  constructor(options: WatchOptions) {
    this.options = options
  }

  get open(): number {
    return this.watchers.size
  }

  dropNext(n: number): void {
    this.dropping = n
  }

  merge(enabled: boolean): void {
    this.merging = enabled
    if (!enabled) for (const w of this.watchers) this.flush(w)
  }

  /** Forgets the history, as an etcd compaction does: older resource versions then get 410. */
  compact(): void {
    this.history = []
    this.oldest = this.options.currentRv()
  }

  publish(event: StoreEvent): void {
    this.history.push(event)
    while (this.history.length > this.options.historyLimit) this.oldest = this.history.shift()!.rv
    if (this.dropping > 0) {
      this.dropping--
      return
    }
    for (const w of this.watchers) this.deliver(w, event)
  }

  closeAll(): void {
    for (const w of [...this.watchers]) this.close(w)
  }

  start(request: WatchRequest, res: ServerResponse, current: () => ReadonlyArray<KubeObject>): void {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" })
    res.flushHeaders()
    const rv = request.resourceVersion
    if (rv !== undefined && rv < this.oldest) {
      this.write(res, { type: "ERROR", object: expired(rv, this.oldest + 1).body, rv: 0 })
      res.end()
      return
    }
    const w: Watcher = { request, res, pending: new Map(), timers: [], flush: undefined }
    if (rv === undefined) {
      for (const object of current()) if (this.inScope(request, object)) this.write(res, { type: "ADDED", object, rv: 0 })
    } else {
      for (const event of this.history) if (event.rv > rv) this.deliver(w, event)
    }
    this.watchers.add(w)
    res.on("close", () => this.close(w))
    if (request.bookmarks) {
      this.bookmark(w)
      const timer = setInterval(() => this.bookmark(w), this.options.bookmarkIntervalMs)
      timer.unref()
      w.timers.push(timer)
    }
    if (request.timeoutSeconds !== undefined) {
      const timer = setTimeout(() => this.close(w), request.timeoutSeconds * 1000)
      timer.unref()
      w.timers.push(timer)
    }
  }

  private inScope(request: WatchRequest, obj: KubeObject | undefined): boolean {
    return (
      obj !== undefined &&
      (request.namespace === undefined || obj.metadata?.namespace === request.namespace) &&
      matchesLabels(request.labels, labelsOf(obj)) &&
      matchesFields(request.fields, obj)
    )
  }

  // An object entering or leaving a watch's selector is ADDED or DELETED for that watch, as in the real watch cache.
  private deliver(w: Watcher, event: StoreEvent): void {
    const { rt } = w.request
    if (event.rt.group !== rt.group || event.rt.plural !== rt.plural) return
    const now = this.inScope(w.request, event.object)
    const before = event.previous !== undefined && this.inScope(w.request, event.previous)
    let type: EventType | undefined
    if (event.type === "ADDED") type = now ? "ADDED" : undefined
    else if (event.type === "DELETED") type = now || before ? "DELETED" : undefined
    else type = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : undefined
    if (type === undefined) return
    const item: Pending = { type, object: event.object, rv: event.rv }
    if (!this.merging) {
      this.write(w.res, item)
      return
    }
    const key = keyOf(event.object)
    const earlier = w.pending.get(key)
    w.pending.delete(key)
    w.pending.set(key, earlier?.type === "ADDED" && type === "MODIFIED" ? { ...item, type: "ADDED" } : item)
    w.flush ??= setTimeout(() => this.flush(w), this.options.mergeWindowMs)
  }

  private flush(w: Watcher): void {
    if (w.flush !== undefined) clearTimeout(w.flush)
    w.flush = undefined
    const items = [...w.pending.values()].sort((a, b) => a.rv - b.rv)
    w.pending.clear()
    for (const item of items) this.write(w.res, item)
  }

  // A bookmark promises every earlier event was sent, so none is sent while merged events wait.
  private bookmark(w: Watcher): void {
    if (w.pending.size > 0) return
    const { rt } = w.request
    const object = { kind: rt.kind, apiVersion: rt.apiVersion, metadata: { resourceVersion: String(this.options.currentRv()) } }
    this.write(w.res, { type: "BOOKMARK", object, rv: 0 })
  }

  private write(res: ServerResponse, item: Pending): void {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type: item.type, object: item.object })}\n`)
  }

  private close(w: Watcher): void {
    if (!this.watchers.delete(w) && w.res.writableEnded) return
    for (const t of w.timers) clearInterval(t)
    if (w.flush !== undefined) clearTimeout(w.flush)
    if (!w.res.writableEnded) w.res.end()
  }
}
