import { restrictedRules, restrictedViolations } from "@clawfleet/core/kubernetes"
import { describe, expect, it } from "@effect/vitest"

const container = {
  name: "app",
  image: "busybox",
  securityContext: {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" }
  }
}
const compliant = { containers: [container], volumes: [{ name: "data", emptyDir: {} }] }
const withContainer = (sc: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...compliant,
  containers: [{ ...container, ...extra, securityContext: { ...container.securityContext, ...sc } }]
})

// One pod per rule, each breaking exactly that rule of the restricted profile.
const breaking: Record<(typeof restrictedRules)[number], Record<string, unknown>> = {
  HostProcess: { ...compliant, securityContext: { windowsOptions: { hostProcess: true } } },
  "Host Namespaces": { ...compliant, hostNetwork: true },
  "Privileged Containers": withContainer({ privileged: true }),
  Capabilities: withContainer({ capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }),
  "HostPath Volumes": { ...compliant, volumes: [{ name: "h", hostPath: { path: "/" } }] },
  "Host Ports": withContainer({}, { ports: [{ containerPort: 80, hostPort: 80 }] }),
  AppArmor: withContainer({ appArmorProfile: { type: "Unconfined" } }),
  SELinux: withContainer({ seLinuxOptions: { type: "spc_t" } }),
  "/proc Mount Type": withContainer({ procMount: "Unmasked" }),
  Seccomp: withContainer({ seccompProfile: { type: "Unconfined" } }),
  Sysctls: { ...compliant, securityContext: { sysctls: [{ name: "kernel.msgmax", value: "1" }] } },
  "Volume Types": { ...compliant, volumes: [{ name: "n", nfs: { server: "x", path: "/" } }] },
  "Privilege Escalation": withContainer({ allowPrivilegeEscalation: true }),
  "Running as Non-root": withContainer({ runAsNonRoot: false }),
  "Running as Non-root user": withContainer({ runAsUser: 0 })
}

describe("restrictedViolations", () => {
  it("passes a compliant pod", () => {
    expect(restrictedViolations(compliant)).toStrictEqual([])
  })

  for (const rule of restrictedRules) {
    it(`names "${rule}" when a pod breaks it, and only that`, () => {
      const rules = new Set(restrictedViolations(breaking[rule]).map((v) => v.rule))
      // hostPath is also a volume type restricted does not allow: both rules name it, as upstream.
      expect([...rules]).toStrictEqual(rule === "HostPath Volumes" ? ["HostPath Volumes", "Volume Types"] : [rule])
    })
  }

  it("accepts security settings made on the pod for every container", () => {
    const pod = {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{ name: "a", image: "x", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }]
    }
    expect(restrictedViolations(pod)).toStrictEqual([])
    expect(restrictedViolations({ ...pod, securityContext: {} }).map((v) => v.rule)).toStrictEqual(["Running as Non-root", "Seccomp"])
  })
})
