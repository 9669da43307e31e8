import { restrictedRules, restrictedViolations } from "@clawfleet/core/kubernetes"
import { testRuntime } from "@clawfleet/core/testing"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { bucketMember, GkeConfig, renderTenant } from "../src/index.ts"

const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}
const decode = Schema.decodeUnknownSync(GkeConfig)
const base = { projectId: "acme-claw", projectNumber: "123456789012", platform }
const configs = {
  principal: decode(base),
  gsaCiliumRoute: decode({
    ...base,
    identity: { mode: "google-service-account" },
    egress: "cilium",
    agent: { bundle: "export {}" },
    ingress: { domain: "claw.example.com" },
    bucket: { kmsKeyName: "projects/acme-claw/locations/us/keyRings/claw/cryptoKeys/tenants" }
  }),
  ingress: decode({ ...base, agent: { bundle: "export {}" }, ingress: { domain: "claw.example.com", kind: "ingress" } })
}
const runtimes = {
  plain: testRuntime("ada"),
  granted: testRuntime("bob", {
    access: {
      tenant: "bob",
      owner: "bob",
      skills: ["pdf"],
      tools: [],
      knowledge: [],
      egress: [
        { pattern: "api.github.com", except: [] },
        { pattern: "*.example.org", except: [] }
      ],
      models: []
    }
  }),
  suspended: testRuntime("cy", { suspended: true })
}

const models = async (kind: string) => {
  const core = await import("kubernetes-models/v1")
  const apps = await import("kubernetes-models/apps/v1")
  const net = await import("kubernetes-models/networking.k8s.io/v1")
  const cilium = await import("@kubernetes-models/cilium/cilium.io/v2")
  const gateway = await import("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1")
  const byKind: Record<string, new (o: never) => { validate(): void }> = {
    Namespace: core.Namespace,
    ServiceAccount: core.ServiceAccount,
    ResourceQuota: core.ResourceQuota,
    LimitRange: core.LimitRange,
    ConfigMap: core.ConfigMap,
    Service: core.Service,
    Deployment: apps.Deployment,
    NetworkPolicy: net.NetworkPolicy,
    Ingress: net.Ingress,
    CiliumNetworkPolicy: cilium.CiliumNetworkPolicy,
    HTTPRoute: gateway.HTTPRoute
  }
  return byKind[kind]
}

describe("GKE renderTenant", () => {
  for (const [configName, config] of Object.entries(configs)) {
    for (const [runtimeName, rt] of Object.entries(runtimes)) {
      it(`${configName} / ${runtimeName}: Kubernetes objects validate against the upstream and CRD schemas; the pod is restricted`, async () => {
        const resources = renderTenant(config, rt)
        for (const r of resources.filter(
          (r) => !["Bucket", "BucketIamBinding", "GoogleServiceAccount", "WorkloadIdentityUser"].includes(r.kind)
        )) {
          const Model = await models(r.kind)
          expect(Model, `a schema for ${r.kind}`).toBeDefined()
          expect(() => new Model!(r.spec as never).validate(), r.name).not.toThrow()
        }
        const d = resources.find((r) => r.kind === "Deployment")!.spec as any
        const violations = restrictedViolations(d.spec.template.spec)
        for (const rule of restrictedRules)
          expect(
            violations.filter((v) => v.rule === rule),
            rule
          ).toStrictEqual([])
      })
    }
  }

  it("mounts the tenant's own bucket through GCS Fuse and binds only the tenant's principal on it", () => {
    const resources = renderTenant(configs.principal, runtimes.plain)
    const bucket = resources.find((r) => r.kind === "Bucket")!.spec as any
    expect(bucket.iamConfiguration).toStrictEqual({ uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" })
    expect(bucket.labels["clawfleet-tenant"]).toBe("ada")
    const binding = resources.find((r) => r.kind === "BucketIamBinding")!.spec as any
    expect(binding).toStrictEqual({
      bucket: bucket.name,
      role: "roles/storage.objectUser",
      member:
        "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/acme-claw.svc.id.goog/subject/ns/claw-ada/sa/openclaw"
    })
    const pod = (resources.find((r) => r.kind === "Deployment")!.spec as any).spec.template
    expect(pod.metadata.annotations["gke-gcsfuse/volumes"]).toBe("true")
    expect(pod.spec.volumes.find((v: any) => v.name === "state").csi).toStrictEqual({
      driver: "gcsfuse.csi.storage.gke.io",
      volumeAttributes: { bucketName: bucket.name, mountOptions: "implicit-dirs,uid=10001,gid=10001" }
    })
    expect(resources.some((r) => r.kind === "GoogleServiceAccount")).toBe(false)
    expect(bucketMember(configs.principal, "bob")).not.toBe(bucketMember(configs.principal, "ada"))
  })

  it("with a Google service account: the account, its Workload Identity binding and the KSA annotation", () => {
    const resources = renderTenant(configs.gsaCiliumRoute, runtimes.granted)
    const gsa = resources.find((r) => r.kind === "GoogleServiceAccount")!
    expect(gsa.name).toMatch(/^claw-[0-9a-f]{12}@acme-claw\.iam\.gserviceaccount\.com$/)
    const wi = resources.find((r) => r.kind === "WorkloadIdentityUser")!.spec as any
    expect(wi.member).toBe("serviceAccount:acme-claw.svc.id.goog[claw-bob/openclaw]")
    const ksa = resources.find((r) => r.kind === "ServiceAccount")!.spec as any
    expect(ksa.metadata.annotations["iam.gke.io/gcp-service-account"]).toBe(gsa.name)
    const cnp = resources.find((r) => r.kind === "CiliumNetworkPolicy")!.spec as any
    expect(cnp.spec.egress[0].toFQDNs).toStrictEqual([{ matchName: "api.github.com" }, { matchPattern: "*.example.org" }])
    expect(resources.find((r) => r.kind === "HTTPRoute")).toBeDefined()
  })

  it("refuses a bad configuration, naming the field", () => {
    expect(() => decode({ ...base, projectNumber: "abc" })).toThrow(/projectNumber/)
    expect(() => decode({ ...base, identity: { mode: "root" } })).toThrow(/mode/)
  })
})
