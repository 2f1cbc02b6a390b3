/**
 * Store-test helpers on top of the core's `Fixtures`: a `NewGrant` whose device secret is
 * given as plain text (to compare with what reads back), and a password like the core's.
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Credentials } from "@transient-access/core"
import type { Grant as GrantModule, GrantStore } from "@transient-access/core"
import { Fixtures } from "@transient-access/core/testing"

/** `Fixtures.makeNewGrant` with, optionally, a device secret and an idempotency key. */
export const newGrant = (
  grant: GrantModule.Grant,
  options: { readonly secret?: string; readonly idempotency?: GrantStore.IdempotencyKey } = {}
): GrantStore.NewGrant =>
  Fixtures.makeNewGrant(grant, {
    ...(options.secret === undefined ? {} : { deviceSecret: Option.some(Redacted.make(options.secret)) }),
    ...(options.idempotency === undefined ? {} : { idempotency: Option.some(options.idempotency) })
  })

/** A fresh password from the core's generator, as plain text. */
export const password = (): string => Redacted.value(Credentials.generatePassword())
