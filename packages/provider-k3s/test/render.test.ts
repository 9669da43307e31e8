import { type KubeObject, restrictedRules, restrictedViolations } from "@clawfleet/core/kubernetes"
import { testRuntime } from "@clawfleet/core/testing"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { K3sConfig, renderTenant } from "../src/index.ts"

const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}
const decode = Schema.decodeUnknownSync(K3sConfig)

const configs = {
  minimal: decode({ platform }),
  withAgentAndIngress: decode({
    platform,
    agent: { bundle: "console.log('agent')" },
    ingress: { domain: "claw.example.com", tlsSecret: "wildcard-tls" },
    storageClassName: "longhorn"
  })
}
const runtimes = {
  plain: testRuntime("ada"),
  suspended: testRuntime("bob", { suspended: true }),
  skilled: testRuntime("cy", {
    access: { tenant: "cy", owner: "cy", skills: ["pdf", "web-search"], tools: ["jira"], knowledge: [], egress: [], models: [] },
    openclaw: { version: "2026.9.6", image: "registry.example.com/openclaw:custom", config: { gateway: { mode: "local" } } },
    secrets: [
      { env: "CLAWFLEET_GATEWAY_TOKEN", ref: { name: "clawfleet-tenant-cy", key: "gateway-token" } },
      { env: "CLAWFLEET_TELEGRAM_BOT_TOKEN", ref: { name: "cy-telegram", key: "token" } }
    ]
  })
}

// The upstream schemas of each built-in kind, as the API server would check them.
const models = async (kind: string) => {
  const core = await import("kubernetes-models/v1")
  const apps = await import("kubernetes-models/apps/v1")
  const net = await import("kubernetes-models/networking.k8s.io/v1")
  const byKind: Record<string, new (o: never) => { validate(): void }> = {
    Namespace: core.Namespace,
    ServiceAccount: core.ServiceAccount,
    ResourceQuota: core.ResourceQuota,
    LimitRange: core.LimitRange,
    PersistentVolumeClaim: core.PersistentVolumeClaim,
    ConfigMap: core.ConfigMap,
    Service: core.Service,
    Deployment: apps.Deployment,
    NetworkPolicy: net.NetworkPolicy,
    Ingress: net.Ingress
  }
  const model = byKind[kind]
  if (model === undefined) throw new Error(`no upstream schema wired for ${kind}`)
  return model
}

describe("renderTenant", () => {
  for (const [configName, config] of Object.entries(configs)) {
    for (const [runtimeName, rt] of Object.entries(runtimes)) {
      it(`${configName} / ${runtimeName}: every object validates against the upstream schemas`, async () => {
        const objects = renderTenant(config, rt).map((r) => r.spec as KubeObject)
        for (const o of objects) {
          const Model = await models(o.kind)
          expect(() => new Model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow()
        }
      })

      it(`${configName} / ${runtimeName}: the pod meets Pod Security "restricted", rule by rule`, () => {
        const d = renderTenant(config, rt).find((r) => r.kind === "Deployment")!.spec as { spec: { template: { spec: unknown } } }
        const violations = restrictedViolations(d.spec.template.spec as Record<string, unknown>)
        for (const rule of restrictedRules)
          expect(
            violations.filter((v) => v.rule === rule),
            rule
          ).toStrictEqual([])
      })
    }
  }

  it("walls the tenant off: namespace labels, no API token, default deny, only the platform's pods", () => {
    const objects = renderTenant(configs.withAgentAndIngress, runtimes.plain).map((r) => r.spec as any)
    const ns = objects.find((o) => o.kind === "Namespace")
    expect(ns.metadata.name).toBe("claw-ada")
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted")
    expect(objects.every((o) => o.metadata.labels["clawfleet.dev/tenant"] === "ada")).toBe(true)
    expect(objects.filter((o) => o.kind !== "Namespace").every((o) => o.metadata.namespace === "claw-ada")).toBe(true)
    expect(objects.find((o) => o.kind === "ServiceAccount").automountServiceAccountToken).toBe(false)
    const pod = objects.find((o) => o.kind === "Deployment").spec.template.spec
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.containers.every((c: any) => c.securityContext.readOnlyRootFilesystem === true)).toBe(true)
    const deny = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "default-deny")
    expect(deny.spec).toStrictEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] })
    const platformPolicy = objects.find((o) => o.metadata.name === "allow-platform")
    expect(platformPolicy.spec.egress.map((e: any) => e.ports[0].port)).toStrictEqual([8080, 3128, 8081])
    const ingress = objects.find((o) => o.kind === "Ingress")
    expect(ingress.spec.rules[0].host).toBe("ada.claw.example.com")
    expect(ingress.spec.ingressClassName).toBe("traefik")
    // Secrets are wired by reference; no value is rendered anywhere.
    expect(objects.some((o) => o.kind === "Secret")).toBe(false)
  })

  it("scales to zero while suspended and mounts one descriptor per granted skill", () => {
    const asleep = renderTenant(configs.minimal, runtimes.suspended).find((r) => r.kind === "Deployment")!.spec as any
    expect(asleep.spec.replicas).toBe(0)
    const skilled = renderTenant(configs.withAgentAndIngress, runtimes.skilled)
    expect(skilled.filter((r) => r.kind === "ConfigMap").map((r) => r.name)).toStrictEqual([
      "claw-cy/openclaw-config",
      "claw-cy/tenant-agent",
      "claw-cy/skill-pdf",
      "claw-cy/skill-web-search"
    ])
    const d = skilled.find((r) => r.kind === "Deployment")!.spec as any
    expect(d.spec.template.spec.containers[0].image).toBe("registry.example.com/openclaw:custom")
  })

  it("is pure: the same runtime renders the same objects, hash annotations included", () => {
    expect(renderTenant(configs.withAgentAndIngress, runtimes.skilled)).toStrictEqual(
      renderTenant(configs.withAgentAndIngress, runtimes.skilled)
    )
  })
})

describe("K3sConfig", () => {
  it("fills defaults and names every bad field", () => {
    const c = configs.minimal
    expect([c.namespacePrefix, c.storageClassName, c.gatewayPort, c.kubernetes.fieldManager, c.kubernetes.qps]).toStrictEqual([
      "claw-",
      "local-path",
      18789,
      "clawfleet",
      undefined
    ])
    expect(() => decode({})).toThrow(/platform/)
    expect(() => decode({ platform, gatewayPort: 70000, ingress: { domain: "not a domain" } })).toThrow(/gatewayPort[\s\S]*|ingress/)
  })
})
