import { Store } from "@clawfleet/core"
import { storeConformance } from "@clawfleet/core/testing"
import { Effect, Layer } from "effect"
import { makeMemoryRecordStoreWithLog } from "../src/store/MemoryRecordStore.ts"
import { RecordStore, type StoredAudit } from "../src/store/RecordStore.ts"

// The memory store keeps its log in a closure; this test build hands the array out so the suite
// can rewrite an event the way someone with access to process memory could.
let auditLog: Array<StoredAudit> = []
const memory = Store.layerFromRecordStore(
  Layer.effect(
    RecordStore,
    Effect.map(makeMemoryRecordStoreWithLog(), ({ store, auditLog: log }) => {
      auditLog = log
      return store
    })
  )
)

storeConformance("memory", memory, {
  tamper: {
    rewrite: (seq) =>
      Effect.sync(() => {
        const event = auditLog[seq - 1]!
        auditLog[seq - 1] = { ...event, actor: "mallory" }
      }),
    dropNewest: Effect.sync(() => void auditLog.pop())
  }
})
