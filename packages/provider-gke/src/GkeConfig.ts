import { Effect, Schema } from "effect"

const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }, { message: "must be a port from 1 to 65535" }))
const Label = Schema.String.check(
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "must be a DNS-1123 label" }),
  Schema.isMaxLength(63, { message: "must be at most 63 characters" })
)
const Service = Schema.Struct({ namespace: Label, podLabels: Schema.Record(Schema.String, Schema.String), port: Port })
const Pods = Schema.Struct({ namespace: Label, podLabels: Schema.Record(Schema.String, Schema.String) })
const dflt = Schema.withDecodingDefaultKey

/** How tenants are laid out on GKE and in the project. Required: the project and the platform's services. */
export const GkeConfig = Schema.Struct({
  projectId: Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: "must be a GCP project id" })),
  /** The project number, which Workload Identity Federation principals name. */
  projectNumber: Schema.String.check(Schema.isPattern(/^[0-9]{6,20}$/, { message: "must be the numeric project number" })),
  /** Names this fleet in bucket labels, so several fleets can share a project. */
  fleet: Label.pipe(dflt(Effect.succeed("default"))),
  namespacePrefix: Schema.String.check(
    Schema.isPattern(/^[a-z0-9][-a-z0-9]{0,20}$/, { message: "must be lower-case letters, digits and -, at most 21" })
  ).pipe(dflt(Effect.succeed("claw-"))),
  image: Schema.String.check(Schema.isMinLength(1)).pipe(dflt(Effect.succeed("ghcr.io/openclaw/openclaw"))),
  gatewayPort: Port.pipe(dflt(Effect.succeed(18789))),
  bucket: Schema.Struct({
    /** Bucket names are global: `<prefix><tenant>`. Default `claw-<8 hex of the project id>-`. */
    prefix: Schema.optionalKey(
      Schema.String.check(Schema.isPattern(/^[a-z0-9][-a-z0-9]{2,21}$/, { message: "must be 3–22 of a-z, 0-9 and -" }))
    ),
    location: Schema.String.pipe(dflt(Effect.succeed("US"))),
    storageClass: Schema.Literals(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"]).pipe(dflt(Effect.succeed("STANDARD"))),
    /** Deleted objects stay recoverable this long (GCS soft delete); 0 turns it off. */
    softDeleteSeconds: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(dflt(Effect.succeed(604_800))),
    /** A Cloud KMS key for customer-managed encryption. */
    kmsKeyName: Schema.optionalKey(
      Schema.String.check(
        Schema.isPattern(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/, {
          message: "must be a KMS key resource name"
        })
      )
    )
  }).pipe(dflt(Effect.succeed({}))),
  identity: Schema.Struct({
    /**
     * `principal`: the tenant's Kubernetes ServiceAccount is bound on its bucket directly through
     * Workload Identity Federation (no Google service account, no per-project quota). `google-service-account`:
     * one Google service account per tenant that the KSA impersonates.
     */
    mode: Schema.Literals(["principal", "google-service-account"]).pipe(dflt(Effect.succeed("principal"))),
    bucketRole: Schema.String.pipe(dflt(Effect.succeed("roles/storage.objectUser")))
  }).pipe(dflt(Effect.succeed({}))),
  /** `proxy`: domains only through the platform egress proxy. `cilium`: also native `toFQDNs` rules (GKE Dataplane V2). */
  egress: Schema.Literals(["proxy", "cilium"]).pipe(dflt(Effect.succeed("proxy"))),
  ingress: Schema.optionalKey(
    Schema.Struct({
      domain: Schema.String.check(
        Schema.isPattern(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, { message: "must be a domain such as claw.example.com" })
      ),
      /** `ingress` (GKE Ingress) or `httproute` (Gateway API, attached to `gateway`). */
      kind: Schema.Literals(["ingress", "httproute"]).pipe(dflt(Effect.succeed("httproute"))),
      gateway: Schema.Struct({ name: Label, namespace: Label }).pipe(dflt(Effect.succeed({ name: "clawfleet", namespace: "clawfleet" })))
    })
  ),
  /** The load balancer's or gateway's pods that may call into a tenant. */
  ingressFrom: Pods.pipe(dflt(Effect.succeed({ namespace: "gke-managed-system", podLabels: {} }))),
  platform: Schema.Struct({ tokenProxy: Service, egressProxy: Service, toolBroker: Service }),
  agent: Schema.optionalKey(
    Schema.Struct({ bundle: Schema.String.check(Schema.isMinLength(1)), port: Port.pipe(dflt(Effect.succeed(8080))) })
  ),
  kubernetes: Schema.Struct({
    fieldManager: Schema.String.check(Schema.isMinLength(1)).pipe(dflt(Effect.succeed("clawfleet"))),
    force: Schema.Boolean.pipe(dflt(Effect.succeed(false))),
    qps: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
    burst: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
  }).pipe(dflt(Effect.succeed({ fieldManager: "clawfleet", force: false })))
})
export type GkeConfig = typeof GkeConfig.Type
export type GkeConfigInput = typeof GkeConfig.Encoded
