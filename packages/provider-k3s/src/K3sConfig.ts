import { Effect, Schema } from "effect"

const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }, { message: "must be a port from 1 to 65535" }))
const Label = Schema.String.check(
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "must be a DNS-1123 label" }),
  Schema.isMaxLength(63, { message: "must be at most 63 characters" })
)
const Labels = Schema.Record(Schema.String, Schema.String)
const Pods = Schema.Struct({ namespace: Label, podLabels: Labels })
const Service = Schema.Struct({ namespace: Label, podLabels: Labels, port: Port })
// Absent keys decode to their defaults: a decoded config is always complete.

/**
 * How tenants are laid out on the cluster. Everything has a default except where the platform's
 * own services run (the token proxy, egress proxy and tool broker every tenant may call).
 */
export const K3sConfig = Schema.Struct({
  /** Tenant `ada` lives in namespace `<prefix>ada`. */
  namespacePrefix: Schema.String.check(
    Schema.isPattern(/^[a-z0-9]([-a-z0-9]{0,20})$/, { message: "must be lower-case letters, digits and -, at most 21" })
  ).pipe(Schema.withDecodingDefaultKey(Effect.succeed("claw-"))),
  /** The OpenClaw image; the tenant's pinned version is its tag unless the tenant names an image. */
  image: Schema.String.check(Schema.isMinLength(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed("ghcr.io/openclaw/openclaw"))),
  /** `local-path` is K3s's default; it does not enforce the requested size. */
  storageClassName: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("local-path"))),
  gatewayPort: Port.pipe(Schema.withDecodingDefaultKey(Effect.succeed(18789))),
  /** Tenants get `<tenant>.<domain>` behind the cluster's ingress controller; no Ingress without it. */
  ingress: Schema.optionalKey(
    Schema.Struct({
      domain: Schema.String.check(
        Schema.isPattern(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, { message: "must be a domain such as claw.example.com" })
      ),
      className: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("traefik"))),
      tlsSecret: Schema.optionalKey(Label),
      scheme: Schema.Literals(["https", "http"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("https")))
    })
  ),
  /** Where the ingress controller runs: the only pods allowed to call into a tenant. */
  ingressFrom: Pods.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({ namespace: "kube-system", podLabels: { "app.kubernetes.io/name": "traefik" } }))
  ),
  /** The platform services a tenant may call, and nothing else (DNS aside). */
  platform: Schema.Struct({
    tokenProxy: Service,
    egressProxy: Service,
    toolBroker: Service
  }),
  /** The tenant agent: its bundled JavaScript, run by the Node in the OpenClaw image. */
  agent: Schema.optionalKey(
    Schema.Struct({
      bundle: Schema.String.check(Schema.isMinLength(1)),
      port: Port.pipe(Schema.withDecodingDefaultKey(Effect.succeed(8080)))
    })
  ),
  kubernetes: Schema.Struct({
    fieldManager: Schema.String.check(Schema.isMinLength(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed("clawfleet"))),
    force: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
    /** A client-side rate limit; none by default (the server's priority and fairness protects it). */
    qps: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
    burst: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({ fieldManager: "clawfleet", force: false })))
})
export type K3sConfig = typeof K3sConfig.Type
export type K3sConfigInput = typeof K3sConfig.Encoded
