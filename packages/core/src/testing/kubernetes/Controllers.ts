import { clone, deepEqual, isRecord, type KubeObject } from "./Json.ts"
import type { Lifecycle } from "./Lifecycle.ts"
import type { ObjectStore } from "./ObjectStore.ts"
import type { ResourceType } from "./Resources.ts"
import type { StoreEvent } from "./Watch.ts"

/**
 * Stand-ins for the controllers of a cluster that has nodes and storage (option `controllers`):
 * right after a write they report Deployments and StatefulSets as rolled out and available, bind
 * PersistentVolumeClaims, run bare Pods and give LoadBalancer Services an address. They write
 * status (and a claim's volumeName) only, as kube-controller-manager would, and only when there is
 * something new to act on.
 */

const MANAGER = "kube-controller-manager"

const replicasOf = (spec: Record<string, unknown>) => (typeof spec.replicas === "number" ? spec.replicas : 1)

// Zero counts are omitted, as the real controllers' omitempty fields are.
const counts = (fields: Record<string, number>) => Object.fromEntries(Object.entries(fields).filter(([, n]) => n !== 0))

const desiredStatus = (rt: ResourceType, obj: KubeObject): unknown => {
  const spec = isRecord(obj.spec) ? obj.spec : {}
  const generation = obj.metadata?.generation
  const n = replicasOf(spec)
  switch (`${rt.group}/${rt.kind}`) {
    case "apps/Deployment":
      return {
        observedGeneration: generation,
        ...counts({ replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n }),
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." },
          {
            type: "Progressing",
            status: "True",
            reason: "NewReplicaSetAvailable",
            message: `ReplicaSet "${obj.metadata?.name}" has successfully progressed.`
          }
        ]
      }
    case "apps/StatefulSet":
      return {
        observedGeneration: generation,
        replicas: n,
        ...counts({ readyReplicas: n, currentReplicas: n, updatedReplicas: n, availableReplicas: n }),
        collisionCount: 0
      }
    case "/PersistentVolumeClaim": {
      const resources = isRecord(spec.resources) ? spec.resources : {}
      const requests = isRecord(resources.requests) ? resources.requests : {}
      return { phase: "Bound", accessModes: spec.accessModes ?? ["ReadWriteOnce"], capacity: { storage: requests.storage ?? "1Gi" } }
    }
    case "/Pod":
      return {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        podIP: "10.244.0.10",
        containerStatuses: (Array.isArray(spec.containers) ? spec.containers : []).map((c: unknown) => ({
          name: isRecord(c) ? c.name : undefined,
          image: isRecord(c) ? c.image : undefined,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: {} }
        }))
      }
    case "/Service":
      return spec.type === "LoadBalancer" ? { loadBalancer: { ingress: [{ ip: "127.0.0.1", ipMode: "VIP" }] } } : obj.status
    default:
      return obj.status
  }
}

export class Controllers {
  private readonly store: ObjectStore
  private readonly lifecycle: Lifecycle

  constructor(store: ObjectStore, lifecycle: Lifecycle) {
    this.store = store
    this.lifecycle = lifecycle
  }

  observe(event: StoreEvent): void {
    if (event.type === "DELETED" || event.object.metadata?.deletionTimestamp !== undefined) return
    const { rt } = event
    if (!this.due(rt, event.object)) return
    const { namespace, name } = event.object.metadata ?? {}
    this.lifecycle.schedule(() => this.reconcile(rt, namespace, name ?? ""))
  }

  /**
   * Whether a controller has work: a spec it has not observed, a claim not yet bound, a pod not
   * yet running. Status a test wrote itself (with `mutate`) is left alone until then.
   */
  private due(rt: ResourceType, obj: KubeObject): boolean {
    const status = isRecord(obj.status) ? obj.status : {}
    const spec = isRecord(obj.spec) ? obj.spec : {}
    switch (`${rt.group}/${rt.kind}`) {
      case "apps/Deployment":
      case "apps/StatefulSet":
        return status.observedGeneration !== obj.metadata?.generation
      case "/PersistentVolumeClaim":
        return status.phase === undefined || status.phase === "Pending" || this.needsVolume(rt, obj)
      case "/Pod":
        return status.phase === undefined || status.phase === "Pending"
      case "/Service":
        return spec.type === "LoadBalancer" && !deepEqual(status, desiredStatus(rt, obj))
      default:
        return false
    }
  }

  private needsVolume(rt: ResourceType, obj: KubeObject): boolean {
    return rt.group === "" && rt.kind === "PersistentVolumeClaim" && !(isRecord(obj.spec) && typeof obj.spec.volumeName === "string")
  }

  private reconcile(rt: ResourceType, namespace: string | undefined, name: string): void {
    const live = this.store.get(rt, namespace, name)
    if (live === undefined || live.metadata?.deletionTimestamp !== undefined || !this.due(rt, live)) return
    const next = clone(live)
    const status = desiredStatus(rt, live)
    if (status === undefined) delete next.status
    else next.status = status
    if (this.needsVolume(rt, live)) next.spec = { ...(next.spec as object), volumeName: `pvc-${live.metadata?.uid ?? name}` }
    this.store.updateAs(rt, live, next, { manager: MANAGER, direct: true })
  }
}
