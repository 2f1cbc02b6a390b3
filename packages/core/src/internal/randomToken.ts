/**
 * Uniformly random tokens from node's CSPRNG (`crypto.randomInt` rejects modulo bias).
 */
import { randomInt } from "node:crypto"

/** Lower-case letters and digits: valid in RouterOS names, comments, shells and URLs. */
export const lowerAlphanumeric = "abcdefghijklmnopqrstuvwxyz0123456789"

/** A token of `length` characters drawn uniformly from `alphabet`. */
export const randomToken = (length: number, alphabet: string = lowerAlphanumeric): string => {
  let token = ""
  for (let index = 0; index < length; index++) token += alphabet[randomInt(alphabet.length)]
  return token
}
