import { Effect } from "effect"
import { RequestContext } from "../RequestContext.ts"
import type { AuditDraft } from "./RecordStore.ts"

/**
 * An audit event for `action` on `target`, by the request's actor and with its id. Writers that
 * keep secrets or bulk out of the log (sealed credentials, bundle bytes) build their own event
 * with this instead of letting the repository copy the record.
 */
export const auditDraft = (
  action: string,
  target: AuditDraft["target"],
  fields: Pick<AuditDraft, "before" | "after"> = {}
): Effect.Effect<AuditDraft> =>
  Effect.map(RequestContext, (ctx) => ({ actor: ctx.actor, requestId: ctx.requestId, action, target, ...fields }))
