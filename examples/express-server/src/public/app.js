// Dashboard of the Transient Access example server: plain JavaScript, no build step.
// Sites -> device -> Transient Access tab: active credentials with a countdown, "+ Add",
// credentials shown once with copy buttons, Revoke. Talks to the REST API with an API key
// kept in sessionStorage (the demo passes it in the URL fragment: #key=...).

const $ = (id) => document.getElementById(id)
const state = { key: "", sites: [], site: null, deviceId: null, grants: [], me: null }

const fragmentKey = new URLSearchParams(location.hash.slice(1)).get("key")
if (fragmentKey) {
  sessionStorage.setItem("ta-api-key", fragmentKey)
  history.replaceState(null, "", location.pathname)
}
state.key = sessionStorage.getItem("ta-api-key") ?? ""

const announce = (text) => {
  $("status").textContent = text
}

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.key}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {})
  })
  const payload = await response.json().catch(() => ({}))
  if (!response.ok) {
    const error = new Error(payload.detail ?? `HTTP ${response.status}`)
    error.tag = payload._tag
    error.status = response.status
    throw error
  }
  return payload
}

const cell = (text, className) => {
  const td = document.createElement("td")
  td.textContent = text
  if (className) td.className = className
  return td
}

const formatRemaining = (ms) => {
  if (ms <= 0) return "expired"
  const total = Math.floor(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s).padStart(2, "0")}s`
}

const stateLabel = (grant) =>
  grant.state === "pending" ? "Provisioning…" : grant.state === "active" ? "Active" : grant.state === "revoking" ? "Revoking…" : "Revoked"

const accessLabel = (grant) =>
  grant.kind === "port-forward" && grant.forward
    ? `Forward → ${grant.forward.address.includes(":") ? `[${grant.forward.address}]` : grant.forward.address}:${grant.forward.port}`
    : grant.accessType === "ssh"
      ? "SSH"
      : "WinBox"

const renderGrants = () => {
  const active = state.grants.filter((grant) => grant.state === "pending" || grant.state === "active")
  const recent = state.grants.filter((grant) => grant.state === "revoking" || grant.state === "revoked").slice(0, 10)
  const activeRows = active.map((grant) => {
    const row = document.createElement("tr")
    row.dataset.grantId = grant.id
    row.append(
      cell(grant.username, "mono"),
      cell(accessLabel(grant)),
      cell(grant.kind === "port-forward" ? "—" : grant.permission === "full" ? "Full" : "Read only"),
      cell(grant.source, "mono"),
      cell(`${grant.endpoint.host}:${grant.endpoint.port}`, "mono"),
      cell(stateLabel(grant)),
      cell(formatRemaining(Date.parse(grant.expiresAt) - Date.now()), "countdown")
    )
    row.lastChild.dataset.expiresAt = grant.expiresAt
    const actions = document.createElement("td")
    const revoke = document.createElement("button")
    revoke.type = "button"
    revoke.className = "danger"
    revoke.textContent = "Revoke"
    revoke.setAttribute("aria-label", `Revoke ${grant.username}`)
    revoke.addEventListener("click", () => revokeGrant(grant, revoke))
    actions.append(revoke)
    row.append(actions)
    return row
  })
  if (activeRows.length === 0) {
    const row = document.createElement("tr")
    const empty = cell("No active credentials.", "empty")
    empty.colSpan = 8
    row.append(empty)
    activeRows.push(row)
  }
  $("active-rows").replaceChildren(...activeRows)
  $("recent-rows").replaceChildren(
    ...recent.map((grant) => {
      const row = document.createElement("tr")
      row.append(
        cell(grant.username, "mono"),
        cell(accessLabel(grant)),
        cell(stateLabel(grant)),
        cell(grant.revokeReason ?? ""),
        cell(grant.revokedAt ? new Date(grant.revokedAt).toLocaleTimeString() : "")
      )
      return row
    })
  )
}

const tick = () => {
  for (const td of document.querySelectorAll("td.countdown")) {
    td.textContent = formatRemaining(Date.parse(td.dataset.expiresAt) - Date.now())
  }
}

const loadGrants = async () => {
  if (!state.deviceId) return
  const { grants } = await api("GET", `/api/devices/${encodeURIComponent(state.deviceId)}/grants?limit=50`)
  state.grants = grants
  renderGrants()
}

const revokeGrant = async (grant, button) => {
  button.disabled = true
  try {
    await api("DELETE", `/api/grants/${encodeURIComponent(grant.id)}`)
    announce(`Revoked ${grant.username}`)
    await loadGrants()
  } catch (error) {
    button.disabled = false
    announce(`Revoke failed: ${error.message}`)
  }
}

const selectTab = (name) => {
  for (const tab of ["overview", "access"]) {
    const selected = tab === name
    $(`tab-${tab}`).setAttribute("aria-selected", String(selected))
    $(`panel-${tab}`).hidden = !selected
  }
}

const showSite = async (site) => {
  state.site = site
  $("placeholder").hidden = true
  $("site").hidden = false
  $("site-name").textContent = site.name
  for (const link of document.querySelectorAll("#site-list button")) {
    link.setAttribute("aria-current", String(link.dataset.siteId === site.id))
  }
  $("device-rows").replaceChildren(
    ...site.devices.map((device) => {
      const row = document.createElement("tr")
      row.append(cell(device.name ?? device.id), cell(device.id, "mono"), cell(device.regionId), cell(device.mode))
      return row
    })
  )
  $("device-select").replaceChildren(
    ...site.devices.map((device) => {
      const option = document.createElement("option")
      option.value = device.id
      option.textContent = device.name ?? device.id
      return option
    })
  )
  state.deviceId = site.devices[0]?.id ?? null
  $("credentials").hidden = true
  selectTab("access")
  await loadGrants()
}

const renderSites = () => {
  $("site-list").replaceChildren(
    ...state.sites.map((site) => {
      const item = document.createElement("li")
      const button = document.createElement("button")
      button.type = "button"
      button.dataset.siteId = site.id
      button.textContent = site.name
      button.addEventListener("click", () => showSite(site))
      item.append(button)
      return item
    })
  )
}

const widePrefix = (source) => {
  const match = /\/(\d{1,3})$/.exec(source.trim())
  if (!match) return null
  const prefix = Number(match[1])
  const v6 = source.includes(":")
  return (v6 && prefix < 56) || (!v6 && prefix < 24) ? prefix : null
}

const checkSource = () => {
  const value = $("source").value
  const prefix = widePrefix(value)
  $("source-warning").textContent =
    prefix === null ? "" : `Warning: /${prefix} is a wide range — everyone in it can reach the login prompt. Prefer your own address.`
}

const openAdd = () => {
  $("add-error").textContent = ""
  const address = state.me?.callerAddress
  $("source").value = address ? (address.includes(":") ? `${address}/128` : `${address}/32`) : ""
  checkSource()
  $("add-dialog").showModal()
}

const copyButton = (label, value) => {
  const button = document.createElement("button")
  button.type = "button"
  button.className = "copy"
  button.textContent = "Copy"
  button.setAttribute("aria-label", `Copy ${label}`)
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value)
      button.textContent = "Copied"
      announce(`${label} copied`)
    } catch {
      announce("Copy failed: select the text and copy it by hand")
    }
  })
  return button
}

const credentialEntries = (result) => {
  const credentials = result.credentials
  if (credentials === null) {
    const { endpoint, forward } = result.grant
    return [
      ["Endpoint", endpoint.host],
      ["Port", String(endpoint.port)],
      ["Forwards to", forward ? `${forward.address}:${forward.port}` : ""]
    ]
  }
  const entries = [
    ["Endpoint", credentials.host],
    ["Port", String(credentials.port)],
    ["Username", credentials.username],
    ["Password", credentials.password]
  ]
  if (result.grant.accessType === "ssh")
    entries.push(["SSH command", `ssh ${credentials.username}@${credentials.host} -p ${credentials.port}`])
  else entries.push(["WinBox address", credentials.winboxAddress])
  return entries
}

const showCredentials = (result) => {
  const entries = credentialEntries(result)
  const items = entries.flatMap(([label, value]) => {
    const term = document.createElement("dt")
    term.textContent = label
    const definition = document.createElement("dd")
    const code = document.createElement("code")
    code.textContent = value
    code.dataset.field = label.toLowerCase().replace(/\s+/g, "-")
    definition.append(code, copyButton(label, value))
    return [term, definition]
  })
  for (const warning of result.warnings) {
    const note = document.createElement("dd")
    note.className = "warning"
    note.textContent = warning
    items.push(note)
  }
  $("credentials-list").replaceChildren(...items)
  $("credentials").hidden = false
  $("credentials").focus()
}

const submitAdd = async (event) => {
  event.preventDefault()
  const form = new FormData($("add-form"))
  $("add-submit").disabled = true
  try {
    const forward =
      form.get("kind") === "port-forward"
        ? { kind: "port-forward", forward: { address: String(form.get("forwardAddress")).trim(), port: Number(form.get("forwardPort")) } }
        : {}
    const result = await api("POST", `/api/devices/${encodeURIComponent(state.deviceId)}/grants`, {
      accessType: form.get("accessType"),
      permission: form.get("permission"),
      source: String(form.get("source")).trim(),
      ttlSeconds: Number(form.get("ttl")),
      ...forward
    })
    $("add-dialog").close()
    showCredentials(result)
    announce("Credentials generated")
    await loadGrants()
  } catch (error) {
    $("add-error").textContent = error.message
  } finally {
    $("add-submit").disabled = false
  }
}

const start = async () => {
  if (!state.key) {
    $("key-form").hidden = false
    return
  }
  try {
    state.me = await api("GET", "/api/me")
    $("key-form").hidden = true
    $("whoami").textContent = `Signed in as ${state.me.actor.id} (${state.me.actor.roles.join(", ")})`
    state.sites = (await api("GET", "/api/sites")).sites
    renderSites()
    if (state.sites.length > 0) await showSite(state.sites[0])
  } catch (error) {
    $("key-form").hidden = false
    $("whoami").textContent = error.status === 401 ? "That API key was not accepted." : error.message
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault()
  state.key = $("api-key").value.trim()
  sessionStorage.setItem("ta-api-key", state.key)
  start()
})
$("tab-overview").addEventListener("click", () => selectTab("overview"))
$("tab-access").addEventListener("click", () => selectTab("access"))
$("device-select").addEventListener("change", (event) => {
  state.deviceId = event.target.value
  loadGrants()
})
$("add-button").addEventListener("click", openAdd)
$("add-cancel").addEventListener("click", () => $("add-dialog").close())
$("add-form").addEventListener("submit", submitAdd)
$("source").addEventListener("input", checkSource)
for (const radio of document.querySelectorAll("input[name=kind]")) {
  radio.addEventListener("change", () => {
    const forward = document.querySelector("input[name=kind]:checked").value === "port-forward"
    $("forward-fields").hidden = !forward
    $("forward-address").required = forward
    $("forward-port").required = forward
  })
}
$("credentials-done").addEventListener("click", () => {
  $("credentials").hidden = true
  $("credentials-list").replaceChildren()
})
setInterval(tick, 1000)
setInterval(() => {
  if (state.deviceId && document.visibilityState === "visible") loadGrants().catch(() => {})
}, 3000)
start()
