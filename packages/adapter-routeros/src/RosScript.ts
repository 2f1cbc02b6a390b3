/**
 * RouterOS CLI/script rendering with **one** escaping function, `quote`.
 *
 * Every value that enters a script — names, passwords, comments, URLs, tokens, nested
 * scripts — goes through `quote`, which emits a double-quoted string where every byte
 * outside a small whitelist is written as a `\HH` hex escape (MikroTik manual "Scripting":
 * `\HH` is documented; `\?` was removed in v7.1rc2 so `?` is hex-escaped too; `$` is always
 * escaped so no variable, `$(…)` or `$[…]` substitution can happen) — notes §4.2.
 * Non-ASCII text is emitted as its UTF-8 bytes; whether real routers keep bytes ≥ 0x80
 * unchanged is not confirmed ([??], notes §4.2), so the SDK's own values are ASCII.
 *
 * Commands are built from argument records (`command(["user"], "add", { name })`), never by
 * concatenating input into script text. The SDK renders every script it sends or installs
 * with this module; it is public so that operators building their own RouterOS scripts get
 * the same escaping.
 *
 * @since 0.1.0
 */

const literal = /^[A-Za-z0-9 _.,:/@+=%-]$/

/**
 * Quotes a value for a RouterOS script: `"…"` with `\HH` escapes for every other byte.
 *
 * @category constructors
 * @since 0.1.0
 */
export const quote = (value: string): string => {
  let out = '"'
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && literal.test(char) ? char : `\\${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return `${out}"`
}

/**
 * An argument value: quoted text, or a raw script fragment we generated ourselves
 * (`[find …]` selectors, `{ … }` blocks) — never user input.
 *
 * @category models
 * @since 0.1.0
 */
export type Arg = string | { readonly raw: string }

/**
 * A raw fragment (for selectors and blocks built by this module).
 *
 * @category constructors
 * @since 0.1.0
 */
export const raw = (text: string): Arg => ({ raw: text })

const renderArg = (value: Arg): string => (typeof value === "string" ? quote(value) : value.raw)

const argumentName = /^[a-z.][a-z0-9-]*$/
const menuWord = /^[a-z][a-z0-9-]*$/

/**
 * Renders one command: `/menu path verb name=value… positional…`. Paths use spaces so the
 * text runs on v6 and v7 consoles [OBS C5].
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = (
  menu: ReadonlyArray<string>,
  verb: string,
  args: Readonly<Record<string, Arg | undefined>> = {},
  positional: ReadonlyArray<Arg> = []
): string => {
  // menus, verbs and argument names are the SDK's own words: checked, never taken from input
  for (const word of [...menu, verb]) if (!menuWord.test(word)) throw new Error(`invalid menu word ${word}`)
  const parts = menu.length === 0 ? [`/${verb}`] : [`/${menu.join(" ")}`, verb]
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) continue
    if (!argumentName.test(name)) throw new Error(`invalid argument name ${name}`)
    parts.push(`${name}=${renderArg(value)}`)
  }
  // positional arguments last, so a `where …` clause ends the command
  return [...parts, ...positional.map(renderArg)].join(" ")
}

/**
 * `[find where field="value"]` for a menu (relative: used inside that menu's command).
 *
 * @category constructors
 * @since 0.1.0
 */
export const findWhere = (field: string, value: string): Arg => {
  if (!argumentName.test(field)) throw new Error(`invalid field name ${field}`)
  return raw(`[find where ${field}=${quote(value)}]`)
}
