/**
 * The text `pnpm demo` prints: where the dashboard is, the API key, and a copy-paste
 * walkthrough (curl → ssh → revoke → ssh refused).
 *
 * @since 0.1.0
 */
import type { Inventory } from "./Inventory.ts"

/**
 * Renders the walkthrough.
 *
 * @category constructors
 * @since 0.1.0
 */
export const walkthrough = (input: {
  readonly url: string
  /** The generated demo key; undefined when keys come from `TA_API_KEYS` (never printed). */
  readonly apiKey: string | undefined
  readonly inventory: Inventory
}): string => {
  const key = input.apiKey ?? "<your key from TA_API_KEYS>"
  const device = input.inventory.sites[0]?.devices[0]?.id ?? "rtr-1"
  const describe = (device: Inventory["sites"][number]["devices"][number]) =>
    device.mode === "pull" ? `${device.id} (pull mode: checks in over HTTP every few seconds)` : `${device.id} (push over the RouterOS API)`
  const devices = input.inventory.sites.map((site) => `  ${site.name}: ${site.devices.map(describe).join(", ")}`).join("\n")
  const pull = input.inventory.sites.flatMap((site) => site.devices).find((candidate) => candidate.mode === "pull")
  return `
Transient Access demo is running.

  Dashboard: ${input.apiKey === undefined ? input.url : `${input.url}/#key=${input.apiKey}`}
  API key:   ${input.apiKey === undefined ? "one of TA_API_KEYS (not printed)" : `${input.apiKey}   (role admin)`}
  OpenAPI:   ${input.url}/openapi.json

Simulated devices:
${devices}

Walkthrough (copy-paste into another terminal):

  export TA_URL=${input.url} TA_KEY=${key}

  # 1. ask for 15 minutes of read-only SSH access from your own address
  #    (the response, with the password shown once, stays in this shell: no file)
  GRANT_JSON=$(curl -s -X POST "$TA_URL/api/devices/${device}/grants" \\
    -H "Authorization: Bearer $TA_KEY" -H "Content-Type: application/json" \\
    -d '{"accessType":"ssh","permission":"read-only","ttlSeconds":900}'); echo "$GRANT_JSON"

  # 2. once it is ready, log in through the relay
  field() { printf '%s' "$GRANT_JSON" | node -p "JSON.parse(require('fs').readFileSync(0, 'utf8'))$1"; }
  GRANT=$(field .grant.id); PASS=$(field .credentials.password); CMD=$(field .credentials.sshCommand)
  until curl -s "$TA_URL/api/grants/$GRANT" -H "Authorization: Bearer $TA_KEY" | grep -q '"ready":true'; do sleep 0.2; done
  sshpass -p "$PASS" $CMD -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null /system identity print

  # 3. revoke it, and wait until both targets list it as gone
  curl -s -X DELETE "$TA_URL/api/grants/$GRANT" -H "Authorization: Bearer $TA_KEY"
  until curl -s "$TA_URL/api/grants/$GRANT" -H "Authorization: Bearer $TA_KEY" | grep -q '"state":"revoked"'; do sleep 0.2; done

  # 4. the same login is now refused
  sshpass -p "$PASS" $CMD -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null /system identity print

  # audit trail
  curl -s "$TA_URL/api/audit?grantId=$GRANT" -H "Authorization: Bearer $TA_KEY"
${
  pull === undefined
    ? ""
    : `
  # 5. the same on the pull-mode device ${pull.id}: its user appears after a few check-ins
  GRANT_JSON=$(curl -s -X POST "$TA_URL/api/devices/${pull.id}/grants" \\
    -H "Authorization: Bearer $TA_KEY" -H "Content-Type: application/json" \\
    -d '{"accessType":"ssh","permission":"read-only","ttlSeconds":900}'); echo "$GRANT_JSON"
  GRANT=$(field .grant.id)
  until curl -s "$TA_URL/api/grants/$GRANT" -H "Authorization: Bearer $TA_KEY" | grep -q '"ready":true'; do sleep 1; done
  #    then repeat steps 2-4 (log in, revoke, login refused)
`
}
Press Ctrl-C to stop.
`
}
