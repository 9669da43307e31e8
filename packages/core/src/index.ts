export * from "./Audit.ts"
export * from "./Catalog.ts"
export type { Services as ClawfleetServices } from "./Clawfleet.ts"
export * as Clawfleet from "./Clawfleet.ts"
export * from "./Directory.ts"
export * from "./domain/AuditEvent.ts"
export * from "./domain/Catalog.ts"
export * from "./domain/Directory.ts"
export * from "./domain/Grant.ts"
export * from "./domain/Names.ts"
export * from "./domain/Tenant.ts"
export * from "./Errors.ts"
export * from "./Fleet.ts"
export * from "./grants/AccessIndex.ts"
export * from "./grants/Grants.ts"
export { diffResources, jsonDiff, makeProvider, type ProviderParts } from "./provider/makeProvider.ts"
export { ProviderError, ProviderErrorReason } from "./provider/ProviderError.ts"
export {
  type Capabilities,
  type ChangeAction,
  type ManagedResource,
  type Observation,
  type Plan,
  type ProviderDescription,
  type Readiness,
  type ResourceChange,
  type Retention,
  RuntimeProvider
} from "./provider/RuntimeProvider.ts"
export type { TenantRuntime } from "./provider/TenantRuntime.ts"
export * from "./RequestContext.ts"
export { type ReconcileEvent, Reconciler, ReconcilerConfig, type ReconcilerOptions } from "./reconciler/Reconciler.ts"
export { CompileError, type RenderConfig, RuntimeCompiler, SecretEnv } from "./reconciler/RuntimeCompiler.ts"
export type { Services as StoreServices } from "./Store.ts"
export * as Store from "./Store.ts"
export type { AuditDraft, AuditTarget, ListQuery, Row, StoredAudit } from "./store/RecordStore.ts"
export { RecordStore } from "./store/RecordStore.ts"
export type { Page, PageRequest, Repository, Versioned } from "./store/Repository.ts"
export { type Table, Tables } from "./store/Tables.ts"
export * from "./Tenants.ts"

// OpenClaw config rendering

export {
  defaultOpenClawCache,
  installOpenClaw,
  type OpenClawInstall,
  OpenClawInstallError,
  OpenClawInstallErrorReason,
  type OpenClawInstallOptions,
  pathWithOurNode
} from "./openclaw/install.ts"
export { type JsonIssue, type JsonSchema, type JsonSchemaObject, unsupportedKeywords, validateJson } from "./openclaw/JsonSchema.ts"
export {
  defaultSkillsDir,
  type EnvSecretRef,
  knowledgeServerName,
  modelProviderId,
  OpenClawConfig,
  OpenClawConfigError,
  OpenClawConfigErrorReason,
  type OpenClawConfigOptions,
  type OpenClawJson,
  type RenderInput as OpenClawRenderInput,
  type SecretEnvNames
} from "./openclaw/OpenClawConfig.ts"
export { openClawSchemas, supportedOpenClawVersions } from "./openclaw/versions/index.ts"

// Proxies: the token proxy, metering, virtual keys and the gate the proxies ask

export {
  type AddressFilter,
  canonicalHost as canonicalEgressHost,
  type DenyReason,
  type EgressHandlers,
  type EgressLookup,
  EgressProxy,
  type EgressProxyOptions,
  makeAddressFilter,
  makeEgressHandlers,
  type ResolvedAddress
} from "./proxy/EgressProxy.ts"
export {
  type ActualUsage,
  type Admission,
  type BudgetStanding,
  type LedgerEntry,
  type LedgerState,
  Metering,
  type MeteringLimits,
  nextPeriodStart,
  type PeriodUsage,
  periodOf,
  type RefusalReason,
  type ReservationRequest
} from "./proxy/Metering.ts"
export { TenantGate, type TenantIdentity } from "./proxy/TenantGate.ts"
export {
  BUDGET_WARNING_HEADER,
  type Dialect,
  REQUEST_ID_HEADER,
  TokenProxy,
  type TokenProxyOptions,
  type UpstreamConfig
} from "./proxy/TokenProxy.ts"
export { hashKey, type IssuedKey, VirtualKey, VirtualKeys } from "./proxy/VirtualKeys.ts"
// Identity: signing keys, short-lived tokens, pairing, API tokens

export { ApiToken, ApiTokens, Scope, type VerifiedApiToken } from "./identity/ApiTokens.ts"
export { type ActiveKey, type KeySet, SigningKey, SigningKeys, type SigningKeysOptions } from "./identity/SigningKeys.ts"
export { TokenError, TokenErrorReason } from "./identity/TokenError.ts"
export {
  type IssuedToken,
  type IssueRequest,
  MAX_TTL_SECONDS,
  PairingCode,
  RevocationEpoch,
  type TokenClaims,
  Tokens
} from "./identity/Tokens.ts"

// The tenant agent and the control-plane API it talks to

export { type AgentApiServices, agentAudience, makeAgentApi } from "./agent/AgentApi.ts"
export {
  type GrantedSkill,
  SkillSyncError,
  SkillSyncErrorReason,
  type SkillSyncOptions,
  type SkillSyncReport,
  syncSkills
} from "./agent/SkillSync.ts"
export { HEALTH_PATH, makeTenantAgent, PAIR_PATH, SESSION_COOKIE, TenantAgent, type TenantAgentOptions } from "./agent/TenantAgent.ts"

// Sign-in and sessions

export { type BegunSignIn, type CompletedSignIn, OidcSignIn, type OidcSignInOptions } from "./identity/OidcSignIn.ts"
export type { GroupMapping } from "./identity/oidc/claims.ts"
export type { ProviderOptions as OidcProviderOptions } from "./identity/oidc/provider.ts"
export { SignInError, SignInErrorReason } from "./identity/oidc/SignInError.ts"
export { safeReturnTo, TRANSACTION_TTL_MILLIS as SIGN_IN_TRANSACTION_TTL_MILLIS } from "./identity/oidc/transaction.ts"
export { hashSessionToken, type IssuedSession, Session, type SessionOptions, Sessions } from "./identity/Sessions.ts"

// The MCP tool broker and the secrets it injects

export { PairingError, PairingErrorReason, type PairingLink, PairingLinks, type PairingRequest } from "./agent/PairingLinks.ts"
export { ToolBroker, type ToolBrokerOptions } from "./proxy/ToolBroker.ts"
export {
  DEFAULT_SECRET_ENV_PREFIX,
  isSecretError,
  SecretError,
  SecretErrorReason,
  SecretNotFound,
  Secrets,
  SecretUnavailable,
  secretEnvName
} from "./secrets/Secrets.ts"

// Skill bundles: what a skill grant means, byte for byte

export {
  BUNDLE_FORMAT as SKILL_BUNDLE_FORMAT,
  bundleDigest as skillBundleDigest,
  MARKER_FILE as SKILL_MARKER_FILE,
  MAX_BUNDLE_BYTES as MAX_SKILL_BUNDLE_BYTES,
  MAX_CONTENT_BYTES as MAX_SKILL_CONTENT_BYTES,
  MAX_FILES as MAX_SKILL_FILES,
  packBundle as packSkillBundle,
  type SkillFile,
  type SkillFileInput,
  unpackBundle as unpackSkillBundle
} from "./skills/bundle.ts"
export { readSkillDirectory } from "./skills/directory.ts"
export { SkillBundle, SkillBundles } from "./skills/SkillBundles.ts"

// Knowledge bases, searched over full text and served as an MCP server

export {
  type IdentityRoutesOptions,
  type IdentityRoutesServices,
  makeIdentityRoutes,
  PAIRING_SCOPE,
  SESSION_COOKIE as SIGN_IN_SESSION_COOKIE
} from "./identity/IdentityRoutes.ts"
/** The small HTTP helpers clawfleet's own routes use, for servers built on it. */
export { cookieValue, escapeHtml } from "./internal/http.ts"
/** Runs a node:http server for the life of a scope: what every clawfleet listener is built on. */
export { type Listening, listen } from "./internal/listen.ts"
export { type DocumentInput, Knowledge, type KnowledgeDocument, type SearchHit, type SearchRequest } from "./knowledge/Knowledge.ts"
export { KnowledgeMcp, type KnowledgeMcpHandlerOptions, type KnowledgeMcpOptions } from "./knowledge/KnowledgeMcp.ts"
export {
  PersonCredential,
  type PersonCredentialInfo,
  type PersonCredentialInput,
  PersonCredentials,
  type PersonCredentialsOptions
} from "./secrets/PersonCredentials.ts"
export { TenantCredential, TenantCredentials, type TenantCredentialsOptions } from "./secrets/TenantCredentials.ts"
