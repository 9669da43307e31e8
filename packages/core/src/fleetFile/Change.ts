import type { Department, Person, Team } from "../domain/Directory.ts"
import type { Grant, GrantEffect, Resource, Subject } from "../domain/Grant.ts"
import type { Tenant } from "../domain/Tenant.ts"
import type { TenantSettings } from "./Spec.ts"

/** The organisation as far as a fleet file can describe it: a snapshot of a store or a server. */
export interface FleetState {
  readonly departments: ReadonlyMap<string, Department>
  readonly teams: ReadonlyMap<string, Team>
  readonly people: ReadonlyMap<string, Person>
  readonly tenants: ReadonlyMap<string, Tenant>
  /** Every grant; only read (and only compared) when the file has a `grants` key. */
  readonly grants: ReadonlyArray<Grant>
}

export interface FieldChange {
  readonly path: string
  readonly from: unknown
  readonly to: unknown
}

export type PersonPatch = {
  email?: Person["email"]
  displayName?: Person["displayName"]
  team?: NonNullable<Person["team"]> | null
  department?: NonNullable<Person["department"]> | null
  disabled?: boolean
}

export type TenantPatch = {
  openclaw?: { version: NonNullable<NonNullable<TenantSettings["openclaw"]>["version"]> }
  resources?: NonNullable<TenantSettings["resources"]>
}

/** A grant as the file asks for it; the input of `Fleet.grant` and of `POST /grants`. */
export interface GrantWanted {
  readonly subject: Subject
  readonly resource: Resource
  readonly effect: GrantEffect
  readonly reason?: string
}

export type Change =
  | { readonly action: "create"; readonly kind: "department"; readonly id: string; readonly department: Department }
  | { readonly action: "create"; readonly kind: "team"; readonly id: string; readonly team: Team }
  | {
      readonly action: "create"
      readonly kind: "person"
      readonly id: string
      readonly person: Person
      /** Created with the person (onboarding), when they get one. */
      readonly tenant: { readonly name: string; readonly settings: TenantSettings } | undefined
    }
  | {
      readonly action: "create"
      readonly kind: "tenant"
      readonly id: string
      readonly owner: string
      readonly settings: TenantSettings
      /** Created by the owner's onboarding, not by a call of its own. */
      readonly withOwner: boolean
    }
  /** `id` is the grant's key: `allow team:platform skill:writer`. */
  | { readonly action: "create"; readonly kind: "grant"; readonly id: string; readonly grant: GrantWanted }
  | {
      readonly action: "update"
      readonly kind: "person"
      readonly id: string
      readonly fields: ReadonlyArray<FieldChange>
      readonly patch: PersonPatch
    }
  | {
      readonly action: "update"
      readonly kind: "tenant"
      readonly id: string
      readonly fields: ReadonlyArray<FieldChange>
      readonly patch: TenantPatch
    }
  | { readonly action: "delete"; readonly kind: "tenant" | "person"; readonly id: string; readonly note: string }
  | { readonly action: "delete"; readonly kind: "grant"; readonly id: string; readonly grantId: string; readonly note: string }

export interface Plan {
  readonly changes: ReadonlyArray<Change>
}

/**
 * Which changes may run together, in order: departments, teams, people and their tenants, grants
 * (their subjects exist by then), then tenant deletions and last offboarding.
 */
export const phaseOf = (c: Change): number =>
  c.kind === "department" ? 0 : c.kind === "team" ? 1 : c.kind === "grant" ? 3 : c.action === "delete" ? (c.kind === "tenant" ? 4 : 5) : 2

export const phases = [0, 1, 2, 3, 4, 5] as const
