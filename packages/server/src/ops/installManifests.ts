import { type KubeObject, restrictedContainerSecurity, restrictedPodSecurity } from "@clawfleet/core/kubernetes"
import { Schema } from "effect"
import { k3sProviderRules } from "./install/rbac.ts"
import { type Json, toYamlDocuments } from "./install/yaml.ts"

export interface InstallOptions {
  /** Where the server runs; created here, with Pod Security "restricted" enforced. */
  readonly namespace: string
  /** The server's image, best pinned by digest. */
  readonly image: string
  /** At least 2 (the default): one replica is an outage at every node drain and every rollout. */
  readonly replicas?: number | undefined
  /** Where people reach the server; given to it as `CLAWFLEET_PUBLIC_URL`. */
  readonly publicUrl: string
  /**
   * The Secret holding `config.json` and `key-encryption-key`, made by the operator, e.g.
   * `kubectl create secret generic <name> --from-file=config.json --from-file=key-encryption-key`.
   * Upstream API keys go in `<name>-env`, one variable per key.
   */
  readonly configSecretName: string
}

/** Options that would give a broken or unsafe installation; every problem at once. */
export class InstallOptionsError extends Schema.TaggedError<InstallOptionsError>()("InstallOptionsError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `cannot install clawfleet: ${this.problems.join("; ")}`
  }
  get isRetryable(): boolean {
    return false
  }
}

export const NAME = "clawfleet-server"
export const HTTP_PORT = 8080
const CONFIG_DIR = "/etc/clawfleet"

// Not `app.kubernetes.io/managed-by: clawfleet`: that label marks tenant objects the provider
// prunes, and the server must never take its own Deployment for one.
const selector = { "app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "control-plane" }
const labels = { ...selector, "app.kubernetes.io/part-of": "clawfleet" }

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

const problemsOf = (o: InstallOptions, replicas: number): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (!LABEL.test(o.namespace) || o.namespace.length > 63) problems.push(`namespace "${o.namespace}" must be a DNS label`)
  if (o.image.trim() === "" || /\s/.test(o.image)) problems.push("image must be an image reference without spaces")
  if (!Number.isInteger(replicas) || replicas < 2) {
    problems.push(
      `replicas must be a whole number of at least 2, got ${replicas}: one replica is an outage at every node drain and rollout`
    )
  }
  let url: URL | undefined
  try {
    url = new URL(o.publicUrl)
  } catch {}
  if (url?.protocol !== "https:") problems.push("publicUrl must be an https URL")
  // `<name>-env` must be a valid name too, so the shorter limit of the two applies.
  if (!SUBDOMAIN.test(o.configSecretName) || o.configSecretName.length > 249) {
    problems.push(`configSecretName "${o.configSecretName}" must be a DNS subdomain of at most 249 characters`)
  }
  return problems
}

const meta = (name: string, namespace?: string) => ({ name, ...(namespace === undefined ? {} : { namespace }), labels: { ...labels } })

const deployment = (o: InstallOptions, replicas: number): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: meta(NAME, o.namespace),
  spec: {
    replicas,
    revisionHistoryLimit: 5,
    selector: { matchLabels: { ...selector } },
    // A new pod is ready before an old one goes: the PodDisruptionBudget alone does not cover rollouts.
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: {
      metadata: { labels: { ...labels } },
      spec: {
        serviceAccountName: NAME,
        // The one pod that talks to the Kubernetes API: it runs the reconciler and its provider.
        automountServiceAccountToken: true,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 30,
        securityContext: restrictedPodSecurity,
        // Replicas on different nodes; on a one-node cluster there is one domain, so both still run.
        // Zones are a preference: a cluster in one zone must not leave a replica pending.
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { ...selector } },
            matchLabelKeys: ["pod-template-hash"]
          },
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: { ...selector } },
            matchLabelKeys: ["pod-template-hash"]
          }
        ],
        containers: [
          {
            name: "server",
            image: o.image,
            args: ["--config", `${CONFIG_DIR}/config.json`],
            env: [
              { name: "CLAWFLEET_PUBLIC_URL", value: o.publicUrl },
              { name: "CLAWFLEET_LISTEN_HOST", value: "0.0.0.0" },
              { name: "CLAWFLEET_LISTEN_PORT", value: String(HTTP_PORT) },
              { name: "CLAWFLEET_KEY_ENCRYPTION_KEY_FILE", value: `${CONFIG_DIR}/key-encryption-key` }
            ],
            // Upstream API keys, by the variable names the config's `upstreams[].apiKeyEnv` gives.
            envFrom: [{ secretRef: { name: `${o.configSecretName}-env`, optional: true } }],
            ports: [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }],
            // No CPU limit: throttling shows up as latency on every proxied model call; the request reserves what it needs.
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
            securityContext: restrictedContainerSecurity,
            // Migrations run before the server listens: give a first start a minute.
            startupProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2, failureThreshold: 30 },
            livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
            readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
            volumeMounts: [
              { name: "config", mountPath: CONFIG_DIR, readOnly: true },
              { name: "tmp", mountPath: "/tmp" }
            ]
          }
        ],
        volumes: [
          // Readable by the server's group only (0440): the key-encryption key is in there.
          { name: "config", secret: { secretName: o.configSecretName, defaultMode: 0o440 } },
          { name: "tmp", emptyDir: { sizeLimit: "256Mi" } }
        ]
      }
    }
  }
})

/**
 * The Kubernetes objects that run the reference server itself with the K3s provider: its
 * namespace (Pod Security "restricted" enforced), a ServiceAccount and the cluster-wide RBAC the
 * provider needs, the Deployment (≥ 2 replicas spread across nodes, restricted security context,
 * probes, config from a Secret), a PodDisruptionBudget, a Service and a NetworkPolicy that lets
 * traffic in on the HTTP port only. Pure: the same options give the same objects. Throws
 * `InstallOptionsError` naming every bad option.
 */
export const installManifests = (options: InstallOptions): ReadonlyArray<KubeObject> => {
  const replicas = options.replicas ?? 2
  const problems = problemsOf(options, replicas)
  if (problems.length > 0) throw new InstallOptionsError({ problems: [...problems] })
  const ns = options.namespace
  // Cluster-scoped names carry the namespace: two installations in one cluster must not share a role.
  const clusterName = `${NAME}-${ns}`
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ns,
        labels: {
          ...labels,
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/audit": "restricted",
          "pod-security.kubernetes.io/warn": "restricted"
        }
      }
    },
    // No token for pods that merely use this account; the Deployment asks for one explicitly.
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(NAME, ns), automountServiceAccountToken: false },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(clusterName),
      rules: k3sProviderRules().map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }))
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(clusterName),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterName },
      subjects: [{ kind: "ServiceAccount", name: NAME, namespace: ns }]
    },
    deployment(options, replicas),
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta(NAME, ns),
      spec: {
        minAvailable: 1,
        selector: { matchLabels: { ...selector } },
        // A crash-looping pod must not block a node drain.
        unhealthyPodEvictionPolicy: "AlwaysAllow"
      }
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(NAME, ns),
      spec: {
        type: "ClusterIP",
        selector: { ...selector },
        ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }]
      }
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(NAME, ns),
      spec: {
        podSelector: { matchLabels: { ...selector } },
        // Ingress only: the server calls the API server, the database, the identity provider and
        // model upstreams, hosts a NetworkPolicy cannot name.
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ protocol: "TCP", port: HTTP_PORT }] }]
      }
    }
  ]
}

/** The objects as one multi-document YAML stream, for `kubectl apply --server-side -f -`. */
export const printManifests = (objects: ReadonlyArray<KubeObject>): string =>
  // Through JSON first, so what is printed is exactly what JSON.stringify would send.
  toYamlDocuments(JSON.parse(JSON.stringify(objects)) as ReadonlyArray<Json>)
