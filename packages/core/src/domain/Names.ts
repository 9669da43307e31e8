import { Schema } from "effect"

/**
 * The string shapes the rest of the domain is built from. Each one names the rule it enforces in
 * its error message, so a caller sees `at ["owner"]: must be a DNS-1123 label …` rather than a
 * bare regex failure.
 */

/**
 * Free text of at most `max` characters that PostgreSQL can store: well-formed UTF-16 (no lone
 * surrogates) and no NUL, which `text` and `jsonb` refuse.
 */
export const Text = (max: number) =>
  Schema.String.check(
    Schema.isMaxLength(max, { message: `must be at most ${max} characters` }),
    Schema.makeFilter(
      (s: string) => (s.isWellFormed() && !s.includes("\u0000")) || "must be text without NUL characters or broken surrogate pairs"
    )
  )

const dns1123Label = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

/** A Kubernetes-style DNS-1123 label: lower-case alphanumerics and `-`, at most 63 characters. */
export const DnsLabel = Schema.String.check(
  Schema.isMaxLength(63, { message: "must be at most 63 characters (DNS-1123 label)" }),
  Schema.isPattern(dns1123Label, {
    message: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit"
  })
).pipe(Schema.brand("DnsLabel"))
export type DnsLabel = typeof DnsLabel.Type

/**
 * A tenant name. OpenClaw's tenant id rule is stricter than DNS-1123 (at most 40 characters), and
 * a tenant name also becomes a namespace suffix, so it must satisfy both.
 */
export const TenantName = Schema.String.check(
  Schema.isPattern(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, {
    message: "must be a tenant name: 1-40 lower-case letters, digits and '-', starting and ending with a letter or digit"
  })
).pipe(Schema.brand("TenantName"))
export type TenantName = typeof TenantName.Type

// Deliberately pragmatic (WHATWG's "valid e-mail address" shape), not RFC 5322: identity providers
// hand us addresses, we only need to reject what is plainly not one.
const emailPattern =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/

export const Email = Schema.String.check(
  Schema.isMaxLength(254, { message: "must be at most 254 characters (e-mail address)" }),
  Schema.isPattern(emailPattern, { message: "must be an e-mail address such as ada@example.com" })
).pipe(Schema.brand("Email"))
export type Email = typeof Email.Type

/** OpenClaw releases are CalVer `YYYY.M.D`, optionally with a `-N` or `-beta.N` suffix. */
export const OpenClawVersion = Schema.String.check(
  Schema.isPattern(/^20\d{2}\.(?:[1-9]|1[0-2])\.(?:[1-9]|[12]\d|3[01])(?:-(?:\d+|beta\.\d+))?$/, {
    message: "must be a pinned OpenClaw CalVer version such as 2026.9.6"
  })
).pipe(Schema.brand("OpenClawVersion"))
export type OpenClawVersion = typeof OpenClawVersion.Type

/** A Kubernetes resource quantity (`500m`, `2`, `1.5Gi`, `512Mi`, `1e3`). */
export const Quantity = Schema.String.check(
  Schema.isPattern(/^(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, {
    message: "must be a Kubernetes quantity such as 500m, 2, 512Mi or 10Gi"
  })
).pipe(Schema.brand("Quantity"))
export type Quantity = typeof Quantity.Type

const hostLabel = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
/** An egress domain pattern: an exact host (`api.github.com`) or a suffix wildcard (`*.github.com`). */
export const DomainPattern = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters (domain name)" }),
  Schema.isPattern(new RegExp(`^(?:\\*\\.)?${hostLabel}(?:\\.${hostLabel})+$`), {
    message: "must be a lower-case host name such as api.example.com, or a suffix pattern such as *.example.com"
  })
).pipe(Schema.brand("DomainPattern"))
export type DomainPattern = typeof DomainPattern.Type

export const Sha256Digest = Schema.String.check(
  Schema.isPattern(/^sha256:[a-f0-9]{64}$/, { message: "must be a digest of the form sha256:<64 lower-case hex>" })
).pipe(Schema.brand("Sha256Digest"))
export type Sha256Digest = typeof Sha256Digest.Type

export const HttpUrl = Schema.String.check(
  Schema.makeFilter((s: string) => {
    try {
      const u = new URL(s)
      return u.protocol === "https:" || u.protocol === "http:" || "must be an http(s) URL"
    } catch {
      return "must be an absolute http(s) URL"
    }
  })
)

/** A free-text label shown to people; trimmed of nothing, but never empty or unbounded. */
export const DisplayName = Text(200).check(Schema.isMinLength(1, { message: "must not be empty" }))

/** A reference to a secret held outside clawfleet (a Kubernetes Secret, a vault path, an env var). */
export const SecretRef = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._/-]{1,253}$/, { message: "must be a secret name (letters, digits, . _ / -)" })),
  key: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{1,253}$/, { message: "must be a secret key (letters, digits, . _ -)" }))
})
export type SecretRef = typeof SecretRef.Type
