/**
 * Pod Security Standards, "restricted" profile (which includes "baseline"), checked rule by rule
 * with the names the Kubernetes documentation gives them. Admission enforces the same on the
 * tenant namespace; checking here too lets a test name the rule a builder broke.
 */
export type PodSecurityRule =
  | "HostProcess"
  | "Host Namespaces"
  | "Privileged Containers"
  | "Capabilities"
  | "HostPath Volumes"
  | "Host Ports"
  | "AppArmor"
  | "SELinux"
  | "/proc Mount Type"
  | "Seccomp"
  | "Sysctls"
  | "Volume Types"
  | "Privilege Escalation"
  | "Running as Non-root"
  | "Running as Non-root user"

export const restrictedRules: ReadonlyArray<PodSecurityRule> = [
  "HostProcess",
  "Host Namespaces",
  "Privileged Containers",
  "Capabilities",
  "HostPath Volumes",
  "Host Ports",
  "AppArmor",
  "SELinux",
  "/proc Mount Type",
  "Seccomp",
  "Sysctls",
  "Volume Types",
  "Privilege Escalation",
  "Running as Non-root",
  "Running as Non-root user"
]

export interface Violation {
  readonly rule: PodSecurityRule
  readonly path: string
  readonly message: string
}

type Obj = Record<string, any>

const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes"
])
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret"
])
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"])

/** Every way the pod spec falls short of "restricted"; empty when it meets it. */
export const restrictedViolations = (pod: Obj): ReadonlyArray<Violation> => {
  const out: Array<Violation> = []
  const v = (rule: PodSecurityRule, path: string, message: string) => out.push({ rule, path, message })
  const psc: Obj = pod.securityContext ?? {}
  const containers: Array<[string, Obj]> = [
    ...((pod.initContainers ?? []) as Array<Obj>).map((c, i): [string, Obj] => [`initContainers[${i}]`, c]),
    ...((pod.containers ?? []) as Array<Obj>).map((c, i): [string, Obj] => [`containers[${i}]`, c]),
    ...((pod.ephemeralContainers ?? []) as Array<Obj>).map((c, i): [string, Obj] => [`ephemeralContainers[${i}]`, c])
  ]

  if (psc.windowsOptions?.hostProcess === true) v("HostProcess", "securityContext.windowsOptions.hostProcess", "must not be true")
  for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[k] === true) v("Host Namespaces", k, "must not be true")
  for (const [i, vol] of ((pod.volumes ?? []) as Array<Obj>).entries()) {
    if (vol.hostPath !== undefined) v("HostPath Volumes", `volumes[${i}].hostPath`, "must not be used")
    const type = Object.keys(vol).find((k) => k !== "name")
    if (type !== undefined && !RESTRICTED_VOLUMES.has(type))
      v("Volume Types", `volumes[${i}].${type}`, `volume type ${type} is not allowed`)
  }
  for (const [i, s] of ((psc.sysctls ?? []) as Array<Obj>).entries()) {
    if (!SAFE_SYSCTLS.has(s.name)) v("Sysctls", `securityContext.sysctls[${i}]`, `${s.name} is not a safe sysctl`)
  }
  const appArmorOk = (p: Obj | undefined) => p === undefined || p.type === "RuntimeDefault" || p.type === "Localhost"
  const seLinuxOk = (o: Obj | undefined) =>
    o === undefined || (SELINUX_TYPES.has(o.type ?? "") && o.user === undefined && o.role === undefined)
  const seccompOk = (p: Obj | undefined) => p?.type === "RuntimeDefault" || p?.type === "Localhost"
  if (!appArmorOk(psc.appArmorProfile)) v("AppArmor", "securityContext.appArmorProfile", "must be RuntimeDefault or Localhost")
  if (!seLinuxOk(psc.seLinuxOptions)) v("SELinux", "securityContext.seLinuxOptions", "may set only an allowed type")
  if (psc.seccompProfile !== undefined && !seccompOk(psc.seccompProfile)) {
    v("Seccomp", "securityContext.seccompProfile", "must be RuntimeDefault or Localhost")
  }
  if (psc.runAsUser === 0) v("Running as Non-root user", "securityContext.runAsUser", "must not be 0")

  for (const [at, c] of containers) {
    const sc: Obj = c.securityContext ?? {}
    if (sc.windowsOptions?.hostProcess === true) v("HostProcess", `${at}.securityContext.windowsOptions.hostProcess`, "must not be true")
    if (sc.privileged === true) v("Privileged Containers", `${at}.securityContext.privileged`, "must not be true")
    const caps: Obj = sc.capabilities ?? {}
    if (!((caps.drop ?? []) as Array<string>).includes("ALL"))
      v("Capabilities", `${at}.securityContext.capabilities.drop`, "must include ALL")
    for (const cap of (caps.add ?? []) as Array<string>) {
      if (cap !== "NET_BIND_SERVICE") v("Capabilities", `${at}.securityContext.capabilities.add`, `${cap} may not be added`)
    }
    for (const [j, p] of ((c.ports ?? []) as Array<Obj>).entries()) {
      if (p.hostPort !== undefined && p.hostPort !== 0) v("Host Ports", `${at}.ports[${j}].hostPort`, "must not be set")
    }
    if (!appArmorOk(sc.appArmorProfile)) v("AppArmor", `${at}.securityContext.appArmorProfile`, "must be RuntimeDefault or Localhost")
    if (!seLinuxOk(sc.seLinuxOptions)) v("SELinux", `${at}.securityContext.seLinuxOptions`, "may set only an allowed type")
    if (sc.procMount !== undefined && sc.procMount !== "Default")
      v("/proc Mount Type", `${at}.securityContext.procMount`, "must be Default")
    if (sc.allowPrivilegeEscalation !== false) {
      v("Privilege Escalation", `${at}.securityContext.allowPrivilegeEscalation`, "must be false")
    }
    if (!(sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && psc.runAsNonRoot === true))) {
      v("Running as Non-root", `${at}.securityContext.runAsNonRoot`, "must be true here or on the pod")
    }
    if (sc.runAsUser === 0) v("Running as Non-root user", `${at}.securityContext.runAsUser`, "must not be 0")
    if (!(seccompOk(sc.seccompProfile) || (sc.seccompProfile === undefined && seccompOk(psc.seccompProfile)))) {
      v("Seccomp", `${at}.securityContext.seccompProfile`, "must be RuntimeDefault or Localhost here or on the pod")
    }
  }
  return out
}
