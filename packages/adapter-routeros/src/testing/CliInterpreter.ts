/**
 * Interpreter for the RouterOS CLI script subset (see `CliParser`): runs statements against
 * a `RouterState`, so scripts are executed, not string-compared.
 *
 * Covered: menu commands (`add`, `set`, `remove`, `enable`, `disable`, `print` [terse lines],
 * `find` [`where` with `=` and `~`], `get`, `request-logout`, `run`), a path alone changing the
 * current menu (export style), `/import file-name=`, `/tool fetch` (through a hook that does
 * real HTTP/HTTPS), `/file remove`; built-ins `:local`, `:global`, `:set`, `:put`, `:log`, `:if`,
 * `:do … on-error=`, `:foreach`, `:len`, `:tonum`, `:tostr`, `:error`. Any failing command
 * aborts the script with its error [DOC A3]. Both slash paths (`/ip/firewall/nat`) and space
 * paths (`/ip firewall nat`) are accepted (v7; v6 needs spaces [OBS C5]).
 *
 * @since 0.1.0
 */
import { type Expr, type Item, type Script, parseScript } from "./CliParser.ts"
import { RosError, texts } from "./RosError.ts"
import type { Caller, RouterState } from "./RouterState.ts"

/**
 * A script value.
 *
 * @category models
 * @since 0.1.0
 */
export type Value = string | number | boolean | null | ReadonlyArray<Value>

/**
 * An HTTP request made by `/tool fetch`.
 *
 * @category models
 * @since 0.1.0
 */
export interface FetchRequest {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  readonly checkCertificate: boolean
}

/**
 * Hooks the interpreter needs from its host.
 *
 * @category models
 * @since 0.1.0
 */
export interface InterpreterHooks {
  /** Performs a `/tool fetch`; resolves to the response body. */
  readonly fetch: (request: FetchRequest) => Promise<string>
  /** Device log lines (`:log`). */
  readonly log: (topic: string, message: string) => void
}

const menus = new Set([
  "",
  "user",
  "user/group",
  "user/active",
  "user/settings",
  "ip",
  "ip/firewall",
  "ip/firewall/nat",
  "system",
  "system/scheduler",
  "system/script",
  "system/clock",
  "system/identity",
  "system/resource",
  "tool",
  "file"
])

const toText = (value: Value): string => {
  if (value === null) return ""
  if (Array.isArray(value)) return value.map(toText).join(";")
  return String(value)
}

const toRefs = (value: Value): ReadonlyArray<string> =>
  Array.isArray(value)
    ? value.flatMap(toRefs)
    : toText(value)
        .split(",")
        .filter((ref) => ref !== "")

interface Scope {
  readonly vars: Map<string, Value>
  cwd: string
  output: string
  readonly caller: Caller
}

/**
 * The interpreter of one device.
 *
 * @category models
 * @since 0.1.0
 */
export class CliInterpreter {
  private readonly state: RouterState
  private readonly hooks: InterpreterHooks
  private readonly globals = new Map<string, Value>()

  constructor(state: RouterState, hooks: InterpreterHooks) {
    this.state = state
    this.hooks = hooks
  }

  /** Parses and runs a script; resolves to its printed output; rejects with `RosError`. */
  async run(source: string, caller: Caller): Promise<string> {
    const scope: Scope = { vars: new Map(), cwd: "", output: "", caller }
    await this.block(parseScript(source), scope)
    return scope.output
  }

  private async block(script: Script, scope: Scope): Promise<Value> {
    let last: Value = null
    for (const statement of script) last = await this.statement(statement.items, scope)
    return last
  }

  private async statement(items: ReadonlyArray<Item>, scope: Scope): Promise<Value> {
    const head = items[0]
    if (head === undefined) return null
    if (head.key === undefined && head.value._tag === "Word" && head.value.text.startsWith(":")) {
      return this.builtin(head.value.text.slice(1), items.slice(1), scope)
    }
    // Resolve the menu path: an absolute first word, then plain words while they name a menu.
    let index = 0
    let menu = scope.cwd
    const word = (at: number): string | undefined => {
      const item = items[at]
      return item !== undefined && item.key === undefined && item.value._tag === "Word" ? item.value.text : undefined
    }
    const first = word(0)
    if (first?.startsWith("/")) {
      const segments = first.split("/").filter((segment) => segment !== "")
      menu = ""
      index = 1
      for (const segment of segments) {
        const candidate = menu === "" ? segment : `${menu}/${segment}`
        if (menus.has(candidate)) menu = candidate
        else {
          // the last slash segment may be the verb (`/user/add`)
          if (segment !== segments[segments.length - 1]) throw new RosError(texts.noSuchCommand, 0)
          return this.command(menu, segment, items.slice(1), scope)
        }
      }
    }
    for (;;) {
      const next = word(index)
      if (next === undefined) break
      const candidate = menu === "" ? next : `${menu}/${next}`
      if (!menus.has(candidate)) break
      menu = candidate
      index++
    }
    const verb = word(index)
    if (verb === undefined) {
      if (index < items.length) throw new RosError(texts.noSuchCommand, 0)
      scope.cwd = menu // a path alone changes the current menu
      return null
    }
    return this.command(menu, verb, items.slice(index + 1), scope)
  }

  private async command(menu: string, verb: string, args: ReadonlyArray<Item>, scope: Scope): Promise<Value> {
    const attrs = new Map<string, string>()
    const positional: Array<Value> = []
    const conditions: Array<{ key: string; op: "=" | "~"; value: string }> = []
    let afterWhere = false
    // `[find …]` inside a command resolves relative to that command's menu [DOC A3].
    const argScope: Scope = { ...scope, cwd: menu }
    for (const arg of args) {
      if (arg.key === undefined) {
        if (arg.value._tag === "Word" && arg.value.text === "where") {
          afterWhere = true
          continue
        }
        positional.push(await this.evaluate(arg.value, argScope))
        continue
      }
      const value = toText(await this.evaluate(arg.value, argScope))
      if (afterWhere || verb === "find" || arg.op === "~") conditions.push({ key: arg.key, op: arg.op ?? "=", value })
      else attrs.set(arg.key, value)
    }
    if (menu === "" && verb === "import") {
      const file = this.state.files.lookup(attrs.get("file-name") ?? toText(positional[0] ?? ""))
      return this.block(parseScript(file.props.get("contents") ?? ""), { ...scope, vars: new Map(), cwd: "" })
    }
    if (menu === "tool" && verb === "fetch") return this.fetch(attrs, positional, scope)
    if (menu === "" || !menus.has(menu)) throw new RosError(texts.noSuchCommand, 0)
    const flags = new Set(positional.filter((value): value is string => typeof value === "string"))
    if (verb === "find" || verb === "print") {
      const result = await this.state.execute(menu.split("/"), "print", new Map(), scope.caller)
      const rows = (result.rows ?? []).filter((row) =>
        conditions.every(({ key, op, value }) => (op === "~" ? new RegExp(value).test(row[key] ?? "") : (row[key] ?? "") === value))
      )
      if (verb === "find") return rows.map((row) => row[".id"] ?? "")
      const proplist = attrs.get("proplist")?.split(",")
      const shown =
        proplist === undefined
          ? rows
          : rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => key === "disabled" || proplist.includes(key))))
      if (flags.has("as-value"))
        return shown.map((row) =>
          Object.entries(row)
            .map(([k, v]) => `${k}=${v}`)
            .join(";")
        )
      scope.output += this.printTerse(shown)
      return null
    }
    if (verb === "get") {
      const table = this.state.tableOf(menu)
      const rows = (await this.state.execute(menu.split("/"), "print", new Map(), scope.caller)).rows ?? []
      const row = table === undefined ? rows[0] : rows.find((candidate) => candidate[".id"] === this.resolveId(menu, positional[0] ?? null))
      if (row === undefined) throw new RosError(texts.noSuchItem, 0)
      const property = positional[table === undefined ? 0 : 1]
      if (property === undefined)
        return Object.entries(row)
          .map(([k, v]) => `${k}=${v}`)
          .join(";")
      return row[toText(property)] ?? null
    }
    if (positional.length > 0 && !attrs.has("numbers") && !attrs.has(".id")) {
      const refs = positional.flatMap(toRefs)
      if (refs.length === 0) return null // `remove [find …]` with no match does nothing [DOC A3]
      attrs.set("numbers", refs.map((ref) => this.resolveId(menu, ref)).join(","))
    }
    const result = await this.state.execute(menu.split("/"), verb, attrs, scope.caller)
    if (result.output !== undefined) scope.output += result.output
    return result.ret ?? null
  }

  /** Item numbers are the ids `find` returns, or names (`*HEX` also accepted). */
  private resolveId(menu: string, ref: Value): string {
    const text = toText(ref)
    const table = this.state.tableOf(menu)
    const item = table?.find(text)
    if (!item) throw new RosError(texts.noSuchItem, 0)
    return `*${item.id.toString(16).toUpperCase()}`
  }

  /** `print` in the CLI: one terse line per item, a flag column (`X` disabled) [??: exact spacing]. */
  private printTerse(rows: ReadonlyArray<Record<string, string>>): string {
    return rows
      .map((row, index) => {
        const flags = row.disabled === "true" ? "X" : " "
        const props = Object.entries(row).filter(([key]) => key !== ".id" && key !== "disabled")
        return `${String(index).padStart(2)} ${flags} ${props.map(([key, value]) => `${key}=${value}`).join(" ")}\n`
      })
      .join("")
  }

  private async fetch(attrs: ReadonlyMap<string, string>, positional: ReadonlyArray<Value>, scope: Scope): Promise<Value> {
    // [DOC A2] fetch needs the `test` policy.
    if (!scope.caller.policies.has("test")) throw new RosError(texts.notEnoughPermissions, 4)
    const url = attrs.get("url")
    if (url === undefined) throw new RosError(texts.missingValue("url"), 1)
    const headers: Record<string, string> = {}
    for (const field of (attrs.get("http-header-field") ?? "").split(",").filter((entry) => entry !== "")) {
      const colon = field.indexOf(":")
      if (colon > 0) headers[field.slice(0, colon).trim()] = field.slice(colon + 1).trim()
    }
    const body = await this.hooks.fetch({
      url,
      method: (attrs.get("http-method") ?? "get").toUpperCase(),
      headers,
      body: attrs.get("http-data"),
      // [DOC A4] "In HTTPS mode by default, no certificate checks are made".
      checkCertificate: ["yes", "yes-without-crl"].includes(attrs.get("check-certificate") ?? "no")
    })
    const asValue = positional.some((value) => value === "as-value")
    if (attrs.get("output") === "user" && asValue) return [`status=finished`, `data=${body}`]
    if (attrs.get("output") === "none") return null
    const name = attrs.get("dst-path") ?? url.split("/").pop() ?? "fetched"
    const existing = this.state.files.find(name)
    if (existing) existing.props.set("contents", body)
    else this.state.files.seed({ name, contents: body, size: String(Buffer.byteLength(body, "latin1")) })
    return null
  }

  private async builtin(name: string, args: ReadonlyArray<Item>, scope: Scope): Promise<Value> {
    const positional = args.filter((arg) => arg.key === undefined).map((arg) => arg.value)
    const keyed = new Map(args.filter((arg) => arg.key !== undefined).map((arg) => [arg.key!, arg.value]))
    const valueAt = async (index: number): Promise<Value> => {
      const expr = positional[index]
      return expr === undefined ? null : this.evaluate(expr, scope)
    }
    const nameAt = (index: number): string => {
      const expr = positional[index]
      if (expr?._tag !== "Word") throw new RosError("syntax error (variable name)", 3)
      return expr.text
    }
    switch (name) {
      case "local":
        scope.vars.set(nameAt(0), await valueAt(1))
        return null
      case "global":
        this.globals.set(nameAt(0), await valueAt(1))
        return null
      case "set": {
        const variable = nameAt(0)
        const value = await valueAt(1)
        if (scope.vars.has(variable)) scope.vars.set(variable, value)
        else this.globals.set(variable, value)
        return null
      }
      case "put":
        scope.output += `${toText(await valueAt(0))}\n`
        return null
      case "log": {
        this.hooks.log(nameAt(0), toText(await valueAt(1)))
        return null
      }
      case "error":
        throw new RosError(toText(await valueAt(0)), 3)
      case "len": {
        const value = await valueAt(0)
        return Array.isArray(value) ? value.length : toText(value).length
      }
      case "tonum": {
        const number = Number(toText(await valueAt(0)))
        return Number.isFinite(number) ? number : null
      }
      case "tostr":
        return toText(await valueAt(0))
      case "if": {
        const condition = await valueAt(0)
        const branch = this.truthy(condition) ? keyed.get("do") : keyed.get("else")
        return branch ? this.evaluate(branch, scope) : null
      }
      case "do": {
        const body = positional[0]
        if (body === undefined) return null
        const handler = keyed.get("on-error")
        if (handler === undefined) return this.evaluate(body, scope)
        try {
          return await this.evaluate(body, scope)
        } catch (error) {
          if (!(error instanceof RosError)) throw error
          return this.evaluate(handler, scope)
        }
      }
      case "foreach": {
        const variable = nameAt(0)
        const list = keyed.get("in")
        const body = keyed.get("do")
        if (list === undefined || body === undefined) throw new RosError("syntax error (foreach)", 3)
        const values = await this.evaluate(list, scope)
        for (const value of Array.isArray(values) ? values : [values]) {
          scope.vars.set(variable, value)
          await this.evaluate(body, scope)
        }
        return null
      }
    }
    throw new RosError(`bad command name ${name}`, 0) // text [??]
  }

  private truthy(value: Value): boolean {
    return value === true || value === "true" || value === "yes"
  }

  private async evaluate(expr: Expr, scope: Scope): Promise<Value> {
    switch (expr._tag) {
      case "Word":
        return expr.text === "true" ? true : expr.text === "false" ? false : /^\d+$/.test(expr.text) ? Number(expr.text) : expr.text
      case "Str": {
        let out = ""
        for (const part of expr.parts) out += typeof part === "string" ? part : toText(await this.evaluate(part, scope))
        return out
      }
      case "Var":
        return scope.vars.get(expr.name) ?? this.globals.get(expr.name) ?? null
      case "Sub":
        return this.block(expr.script, { ...scope, output: "" })
      case "Block": {
        const inner: Scope = { ...scope, vars: new Map(scope.vars), output: "" }
        const result = await this.block(expr.script, inner)
        scope.output += inner.output
        for (const [key, value] of inner.vars) if (scope.vars.has(key)) scope.vars.set(key, value)
        return result
      }
      case "Unary":
        return !this.truthy(await this.evaluate(expr.operand, scope))
      case "Binary": {
        const left = await this.evaluate(expr.left, scope)
        if (expr.op === "&&") return this.truthy(left) && this.truthy(await this.evaluate(expr.right, scope))
        if (expr.op === "||") return this.truthy(left) || this.truthy(await this.evaluate(expr.right, scope))
        const right = await this.evaluate(expr.right, scope)
        const numeric = typeof left === "number" && typeof right === "number"
        switch (expr.op) {
          case ".":
            return toText(left) + toText(right)
          case "+":
            return Number(left) + Number(right)
          case "-":
            return Number(left) - Number(right)
          case "=":
            return numeric ? left === right : toText(left) === toText(right)
          case "!=":
            return numeric ? left !== right : toText(left) !== toText(right)
          case "<":
            return Number(left) < Number(right)
          case ">":
            return Number(left) > Number(right)
          case "<=":
            return Number(left) <= Number(right)
          case ">=":
            return Number(left) >= Number(right)
          case "~":
            return new RegExp(toText(right)).test(toText(left))
        }
        throw new RosError(`syntax error (${expr.op})`, 3)
      }
    }
  }
}
