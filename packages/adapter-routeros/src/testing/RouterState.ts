/**
 * The state of one simulated RouterOS device and the menu commands over it: `/user`,
 * `/user/group`, `/user/active`, `/user/settings`, `/ip/firewall/nat`, `/system/scheduler`,
 * `/system/script`, `/system/clock`, `/system/identity`, `/system/resource` and `/file`.
 *
 * Both front ends (the API server and the CLI interpreter) call `execute`, so the API and
 * SSH see the same device. Sources of each behaviour are cited where it is implemented;
 * the notes' §7 is the checklist.
 *
 * @since 0.1.0
 */
import { isIP } from "node:net"
import { type ProfileTraits, policySet } from "./Profiles.ts"
import { RosError, texts } from "./RosError.ts"
import { formatDate, formatTime, parseDateTime, parseInterval } from "./SimClock.ts"
import { type Item, Table, formatId } from "./Tables.ts"

/**
 * Who runs a command: a logged-in user's policies, or a scheduler/script context.
 *
 * @category models
 * @since 0.1.0
 */
export interface Caller {
  readonly user: string
  readonly policies: ReadonlySet<string>
}

/**
 * The result of a menu command.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandResult {
  readonly rows?: ReadonlyArray<Record<string, string>>
  /** `=ret=` of `!done` (the new item's id after `add`). */
  readonly ret?: string
  /** Free text a CLI command prints (`/system/script/run` output). */
  readonly output?: string
}

/**
 * A live session listed in `/user/active` [DOC A2].
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionHandle {
  readonly close: (reason: string) => void
}

/**
 * Options of the device state.
 *
 * @category models
 * @since 0.1.0
 */
export interface RouterStateOptions {
  readonly traits: ProfileTraits
  readonly identity: string
  readonly adminPassword: string
  readonly now: () => number
  /** Removing or disabling a user also ends its sessions (unconfirmed on RouterOS; default off, notes §2.3). */
  readonly removeKillsSessions: boolean
}

/** Every policy, for the system context (scheduler entries default to these). */
export const allPolicies: ReadonlySet<string> = policySet(
  "local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,romon,rest-api"
)

/**
 * Verbs that change state (need `write`; under `/user` also `policy`) [DOC A2 policies].
 */
const writeVerbs = new Set(["add", "set", "remove", "enable", "disable", "request-logout", "run", "unset"])

const ipv4ToInt = (address: string): number => address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0)

/**
 * Whether `address` (as the router sees it) is inside `allowed` (`a.b.c.d/n`, a bare
 * address, or empty = any) — the `/user address=` restriction [DOC A2].
 *
 * @category constructors
 * @since 0.1.0
 */
export const addressAllowed = (allowed: string | undefined, address: string): boolean => {
  if (allowed === undefined || allowed === "") return true
  const peer = address.startsWith("::ffff:") ? address.slice(7) : address
  return allowed.split(",").some((entry) => {
    const [net, bits] = entry.trim().split("/")
    if (net === undefined) return false
    if (isIP(net) === 4 && isIP(peer) === 4) {
      const prefix = bits === undefined ? 32 : Number(bits)
      if (prefix === 0) return true
      const mask = prefix === 32 ? 0xffffffff : ~((1 << (32 - prefix)) - 1) >>> 0
      return (ipv4ToInt(net) & mask) >>> 0 === (ipv4ToInt(peer) & mask) >>> 0
    }
    return net === peer && (bits === undefined || bits === "128")
  })
}

/**
 * The device.
 *
 * @category models
 * @since 0.1.0
 */
export class RouterState {
  readonly options: RouterStateOptions
  /** [DOC A2] fields; `password` write-only [OBS C1]; name unique. */
  readonly users = new Table({
    writable: ["name", "password", "group", "address", "comment", "disabled"],
    hidden: ["password"],
    booleans: ["disabled"],
    defaults: { disabled: "false", expired: "false" },
    key: "name",
    duplicateText: texts.duplicateUser
  })
  readonly groups = new Table({ writable: ["name", "policy", "skin", "comment"], defaults: { skin: "default" }, key: "name" })
  readonly active = new Table({ writable: [] })
  readonly settings = new Table({ writable: ["minimum-password-length", "minimum-categories"] })
  /** [OBS C1] print adds bytes/packets/dynamic/invalid/log/log-prefix. */
  readonly nat = new Table({
    writable: [
      "chain",
      "action",
      "protocol",
      "dst-port",
      "src-port",
      "dst-address",
      "src-address",
      "in-interface",
      "in-interface-list",
      "dst-address-type",
      "src-address-list",
      "to-addresses",
      "to-ports",
      "comment",
      "disabled",
      "log",
      "log-prefix",
      "place-before"
    ],
    booleans: ["disabled", "log"],
    defaults: { disabled: "false", dynamic: "false", invalid: "false", log: "false", "log-prefix": "", bytes: "0", packets: "0" }
  })
  readonly scheduler = new Table({
    writable: ["name", "start-date", "start-time", "interval", "on-event", "policy", "comment", "disabled"],
    booleans: ["disabled"],
    defaults: { interval: "0s", disabled: "false", "run-count": "0" },
    key: "name"
  })
  readonly scripts = new Table({
    writable: ["name", "source", "policy", "comment", "dont-require-permissions"],
    booleans: ["dont-require-permissions"],
    defaults: { "dont-require-permissions": "false", "run-count": "0" },
    key: "name"
  })
  readonly files = new Table({ writable: ["name", "contents"], key: "name" })
  identity: string
  private readonly sessions = new Map<number, SessionHandle>()
  /** Runs a script body (set by the simulator: the CLI interpreter). */
  runScript: (source: string, caller: Caller) => Promise<string> = async () => ""

  constructor(options: RouterStateOptions) {
    this.options = options
    this.identity = options.identity
    for (const name of ["read", "write", "full"] as const) {
      this.groups.seed({ name, policy: options.traits.groups[name], skin: "default" })
    }
    // [OBS C1] the default admin: `*1`, group full, address 0.0.0.0/0, comment "system default user".
    this.users.seed({
      name: "admin",
      password: options.adminPassword,
      group: "full",
      address: "0.0.0.0/0",
      comment: "system default user",
      disabled: "false",
      expired: "false"
    })
    this.settings.seed({ "minimum-password-length": "0", "minimum-categories": "0" })
  }

  /** Policies of a user's group. */
  policiesOf(user: Item): ReadonlySet<string> {
    const group = this.groups.find(user.props.get("group") ?? "")
    return policySet(group?.props.get("policy") ?? "")
  }

  /**
   * Checks a login: user exists, password matches (`verify`), not disabled, its group has the
   * service's policy (`api`, `ssh` …) [DOC A1 "needs the api policy", A2], and the peer is inside
   * the user's `address` [DOC A2]. Returns the user or `undefined`.
   */
  authenticate(name: string, verify: (password: string) => boolean, address: string, via: string): Item | undefined {
    const user = this.users.find(name)
    if (!user || user.props.get("disabled") === "true") return undefined
    if (!verify(user.props.get("password") ?? "")) return undefined
    if (!this.policiesOf(user).has(via)) return undefined
    if (!addressAllowed(user.props.get("address"), address)) return undefined
    user.props.set("last-logged-in", this.dateTime(this.options.now()))
    return user
  }

  /**
   * Where `/ip/firewall/nat` sends the first packet of a new TCP connection to
   * `dstAddress:dstPort` from `srcAddress`: the `to-addresses`/`to-ports` of the first
   * matching `chain=dstnat action=dst-nat` rule, or `undefined` when none matches (the packet
   * is not translated). Rules are taken in list order, top to bottom [DOC N2]; a rule with
   * `disabled=true` takes no part in matching (the `disabled` property of every firewall rule
   * [OBS C1 nat resource `disabled`]; exact manual wording not read ??); NAT sees only a
   * connection's first packet [DOC N1], so this models new connections only.
   */
  dstnatFor(dstAddress: string, dstPort: number, srcAddress: string): { readonly address: string; readonly port: number } | undefined {
    for (const rule of this.nat.items) {
      const props = rule.props
      if (props.get("disabled") === "true" || props.get("chain") !== "dstnat" || props.get("action") !== "dst-nat") continue
      const protocol = props.get("protocol")
      if (protocol !== undefined && protocol !== "tcp") continue
      const port = props.get("dst-port")
      if (port !== undefined && port !== String(dstPort)) continue
      if (!addressAllowed(props.get("dst-address"), dstAddress) || !addressAllowed(props.get("src-address"), srcAddress)) continue
      const toPort = props.get("to-ports")
      return { address: props.get("to-addresses") ?? dstAddress, port: toPort === undefined ? dstPort : Number(toPort) }
    }
    return undefined
  }

  /** Registers a live session in `/user/active` [DOC A2 fields]. */
  openSession(user: Item, address: string, via: string, handle: SessionHandle): number {
    const item = this.active.seed({
      name: user.props.get("name") ?? "",
      address: address.startsWith("::ffff:") ? address.slice(7) : address,
      via,
      when: this.dateTime(this.options.now()),
      group: user.props.get("group") ?? "",
      radius: "false"
    })
    this.sessions.set(item.id, handle)
    return item.id
  }

  /** Removes a session row (the connection ended). */
  closeSession(id: number): void {
    this.sessions.delete(id)
    const item = this.active.items.find((candidate) => candidate.id === id)
    if (item) this.active.remove(item)
  }

  /** Device time as `date time` for `when`/`last-logged-in`. */
  dateTime(epochMs: number): string {
    return `${formatDate(epochMs, this.options.traits.isoDates)} ${formatTime(epochMs)}`
  }

  /**
   * Runs a menu command. `path` is the menu (`["user"]`, `["ip","firewall","nat"]`), `verb` the
   * command; `ids` are the items named by `=.id=`/`=numbers=` (comma lists allowed).
   */
  async execute(path: ReadonlyArray<string>, verb: string, attrs: Map<string, string>, caller: Caller): Promise<CommandResult> {
    const menu = path.join("/")
    const table = this.tableOf(menu)
    if (table === undefined && !["system/clock", "system/identity", "system/resource"].includes(menu)) {
      throw new RosError(texts.noSuchCommand, 0)
    }
    this.checkPolicy(menu, verb, caller)
    if (verb === "print" || verb === "getall") return { rows: this.print(menu, table) }
    if (menu === "system/identity" && verb === "set") {
      this.identity = attrs.get("name") ?? this.identity
      return {}
    }
    if (table === undefined) throw new RosError(texts.noSuchCommand, 0)
    const ids = attrs.get(".id") ?? attrs.get("numbers")
    attrs.delete(".id")
    attrs.delete("numbers")
    const targets = () => {
      if (ids === undefined) throw new RosError(texts.missingValue("numbers"), 1)
      return ids
        .split(",")
        .filter((ref) => ref !== "")
        .map((ref) => table.lookup(ref))
    }
    switch (verb) {
      case "add": {
        if (menu === "user/active" || menu === "user/settings") break
        this.validate(menu, attrs, undefined)
        const placeBefore = attrs.get("place-before")
        attrs.delete("place-before")
        const item = table.add(attrs)
        if (placeBefore !== undefined) {
          const before = table.lookup(placeBefore)
          table.items.splice(table.items.indexOf(item), 1)
          table.items.splice(table.items.indexOf(before), 0, item)
        }
        if (menu === "system/scheduler") this.initSchedule(item)
        return { ret: formatId(item.id) }
      }
      case "set": {
        if (menu === "user/settings") {
          table.set(table.items[0]!, attrs)
          return {}
        }
        for (const item of targets()) {
          this.validate(menu, attrs, item)
          table.set(item, attrs)
          if (menu === "system/scheduler") this.initSchedule(item)
          if (menu === "user" && attrs.get("disabled") !== undefined) this.maybeKill(item)
        }
        return {}
      }
      case "enable":
      case "disable": {
        for (const item of targets()) {
          item.props.set("disabled", verb === "disable" ? "true" : "false")
          if (menu === "user") this.maybeKill(item)
        }
        return {}
      }
      case "remove": {
        const items = targets()
        for (const item of items) this.checkRemovable(menu, item)
        for (const item of items) {
          if (menu === "user") this.maybeKill(item, true)
          table.remove(item)
        }
        return {}
      }
      case "request-logout": {
        if (menu !== "user/active") break
        // [DOC A2] "close an active session"; API sessions get `!fatal` [notes §7].
        for (const item of targets()) {
          this.sessions.get(item.id)?.close("logged out")
          this.closeSession(item.id)
        }
        return {}
      }
      case "run": {
        if (menu !== "system/script") break
        let output = ""
        for (const item of targets()) output += await this.runNamedScript(item, caller)
        return { output }
      }
    }
    throw new RosError(texts.noSuchCommand, 0)
  }

  /** Runs a `/system/script` item (policy: the script's, unless dont-require-permissions) [DOC A3]. */
  async runNamedScript(item: Item, caller: Caller): Promise<string> {
    const scriptPolicies = policySet(item.props.get("policy") ?? "")
    const allowed =
      item.props.get("dont-require-permissions") === "true" || [...scriptPolicies].every((policy) => caller.policies.has(policy))
    if (!allowed) throw new RosError(texts.notEnoughPermissions, 4)
    item.props.set("run-count", String(Number(item.props.get("run-count") ?? "0") + 1))
    return this.runScript(item.props.get("source") ?? "", { user: caller.user, policies: scriptPolicies })
  }

  /** The table behind a menu path, if it is a table menu. */
  tableOf(menu: string): Table | undefined {
    const tables: Record<string, Table> = {
      user: this.users,
      "user/group": this.groups,
      "user/active": this.active,
      "user/settings": this.settings,
      "ip/firewall/nat": this.nat,
      "system/scheduler": this.scheduler,
      "system/script": this.scripts,
      file: this.files
    }
    return tables[menu]
  }

  /** Runs every due scheduler entry (called when the clock moves) [DOC A3 scheduler]. */
  async fireDue(): Promise<void> {
    const now = this.options.now()
    for (const item of [...this.scheduler.items]) {
      if (!this.scheduler.items.includes(item) || item.props.get("disabled") === "true") continue
      const next = item.props.get("next-run-ms")
      if (next === undefined || Number(next) > now) continue
      const interval = parseInterval(item.props.get("interval") ?? "0s") ?? 0
      if (interval > 0) {
        let upcoming = Number(next)
        while (upcoming <= now) upcoming += interval
        item.props.set("next-run-ms", String(upcoming))
      } else {
        item.props.delete("next-run-ms")
      }
      item.props.set("run-count", String(Number(item.props.get("run-count") ?? "0") + 1))
      const policies = policySet(item.props.get("policy") ?? [...allPolicies].join(","))
      try {
        await this.runScript(item.props.get("on-event") ?? "", { user: "*sys", policies })
      } catch {
        // RouterOS logs a failed scheduler run and carries on [DOC A3].
      }
    }
  }

  private print(menu: string, table: Table | undefined): ReadonlyArray<Record<string, string>> {
    const now = this.options.now()
    if (menu === "system/clock") {
      return [
        {
          time: formatTime(now),
          date: formatDate(now, this.options.traits.isoDates),
          "time-zone-autodetect": "false",
          "time-zone-name": "UTC",
          "gmt-offset": "+00:00",
          "dst-active": "false"
        }
      ]
    }
    if (menu === "system/identity") return [{ name: this.identity }]
    if (menu === "system/resource") {
      return [{ version: this.options.traits.version, "board-name": "CHR", platform: "MikroTik", "architecture-name": "x86_64" }]
    }
    const rows = (table?.items ?? []).map((item) => {
      const row = table!.view(item)
      delete row["next-run-ms"]
      if (menu === "system/scheduler") {
        const next = item.props.get("next-run-ms")
        if (next !== undefined) row["next-run"] = this.dateTime(Number(next))
      }
      return row
    })
    return rows
  }

  private checkPolicy(menu: string, verb: string, caller: Caller): void {
    const needed = writeVerbs.has(verb) ? ["write"] : ["read"]
    if (writeVerbs.has(verb) && (menu === "user" || menu.startsWith("user/"))) needed.push("policy")
    if (menu === "system/script" && verb === "run") needed.splice(0, needed.length, "test")
    if (!needed.every((policy) => caller.policies.has(policy))) throw new RosError(texts.notEnoughPermissions, 4)
  }

  private validate(menu: string, attrs: ReadonlyMap<string, string>, existing: Item | undefined): void {
    const value = (name: string) => attrs.get(name) ?? existing?.props.get(name)
    if (menu === "user") {
      if (value("name") === undefined) throw new RosError(texts.missingValue("name"), 1)
      const group = value("group")
      if (group === undefined) throw new RosError(texts.missingValue("group"), 1)
      if (!this.groups.find(group)) throw new RosError(texts.unknownGroup, 1)
      const name = attrs.get("name")
      // [DOC A2] "must start and end with an alphanumeric character … `*` is prohibited".
      if (name !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9_.#@-]*[A-Za-z0-9])?$/.test(name)) {
        throw new RosError(texts.invalidValue("name", name), 1)
      }
      const password = attrs.get("password")
      if (password !== undefined) this.checkPassword(password)
    }
    if (menu === "ip/firewall/nat") {
      if (value("chain") === undefined) throw new RosError(texts.missingValue("chain"), 1)
      const protocol = value("protocol")
      if ((value("dst-port") !== undefined || value("src-port") !== undefined) && protocol !== "tcp" && protocol !== "udp") {
        throw new RosError(texts.portNeedsProtocol, 1)
      }
    }
    if (menu === "system/scheduler" || menu === "system/script") {
      if (value("name") === undefined) throw new RosError(texts.missingValue("name"), 1)
    }
    if (menu === "system/scheduler") {
      const interval = attrs.get("interval")
      if (interval !== undefined && parseInterval(interval) === undefined) throw new RosError(texts.invalidValue("interval", interval), 1)
    }
  }

  /** [DOC A2] `/user/settings` minimum-password-length and minimum-categories. */
  private checkPassword(password: string): void {
    const settings = this.settings.items[0]!.props
    const minLength = Number(settings.get("minimum-password-length") ?? "0")
    const minCategories = Number(settings.get("minimum-categories") ?? "0")
    const categories = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((pattern) => pattern.test(password)).length
    if (password.length < minLength || categories < minCategories) {
      throw new RosError("failure: password does not meet policy requirements", 1) // text [??]
    }
  }

  private checkRemovable(menu: string, item: Item): void {
    if (menu === "user/group" && ["read", "write", "full"].includes(item.props.get("name") ?? "")) {
      throw new RosError("failure: default group can not be removed", 4) // [DOC A2] undeletable; text [??]
    }
    if (menu === "user" && this.policiesOf(item).has("policy") && this.policiesOf(item).has("write")) {
      // [DOC A2] "If the user with full access rights is the only one, it cannot be removed."
      const others = this.users.items.filter(
        (other) => other !== item && this.policiesOf(other).has("policy") && this.policiesOf(other).has("write")
      )
      if (others.length === 0) throw new RosError(texts.lastFullUser, 4)
    }
  }

  /** Ends a user's sessions when configured to (default off: notes §2.3, pessimistic). */
  private maybeKill(user: Item, removed = false): void {
    if (!this.options.removeKillsSessions) return
    if (!removed && user.props.get("disabled") !== "true") return
    for (const session of [...this.active.items]) {
      if (session.props.get("name") !== user.props.get("name")) continue
      this.sessions.get(session.id)?.close("user removed")
      this.closeSession(session.id)
    }
  }

  /** Computes a scheduler entry's next run from start-date/start-time (defaults: now) [DOC A3]. */
  private initSchedule(item: Item): void {
    const now = this.options.now()
    const startTime = item.props.get("start-time")
    if (startTime === "startup") {
      const interval = parseInterval(item.props.get("interval") ?? "0s") ?? 0
      item.props.set("next-run-ms", String(now + interval))
      return
    }
    if (!item.props.has("start-date")) item.props.set("start-date", formatDate(now, this.options.traits.isoDates))
    if (startTime === undefined) item.props.set("start-time", formatTime(now))
    const at = parseDateTime(item.props.get("start-date") ?? "", item.props.get("start-time") ?? "")
    if (at === undefined) throw new RosError(texts.invalidValue("start-date", item.props.get("start-date") ?? ""), 1)
    const interval = parseInterval(item.props.get("interval") ?? "0s") ?? 0
    let next = at
    if (interval > 0) while (next < now) next += interval
    item.props.set("next-run-ms", String(next))
  }
}
