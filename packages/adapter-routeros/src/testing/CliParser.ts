/**
 * Parser for the subset of RouterOS CLI script the SDK emits (and that SSH users type):
 * commands with menu paths, `name=value` arguments, strings with every escape of the
 * manual, `[ … ]` command substitution, `( … )` expressions, `{ … }` blocks, `$variables`,
 * `#` comments, `;` and newlines as separators, backslash-newline line joining.
 *
 * Source: MikroTik manual "Scripting" [DOC A3] (notes §4.2): escapes `\"`, `\\`, `\n`, `\r`,
 * `\t`, `\$`, `\_` (space), `\a`, `\b`, `\f`, `\v`, `\HH` (hex, capital letters); `\?` removed
 * since v7.1rc2; `$` in strings substitutes variables, including `$(expr)` and `$[command]`;
 * `#` inside a string is not a comment; no whitespace around `=` in `name=value`.
 *
 * @since 0.1.0
 */
import { RosError } from "./RosError.ts"

/**
 * An expression of the script language.
 *
 * @category models
 * @since 0.1.0
 */
export type Expr =
  | { readonly _tag: "Str"; readonly parts: ReadonlyArray<Expr | string> }
  | { readonly _tag: "Word"; readonly text: string }
  | { readonly _tag: "Var"; readonly name: string }
  | { readonly _tag: "Sub"; readonly script: Script }
  | { readonly _tag: "Block"; readonly script: Script }
  | { readonly _tag: "Unary"; readonly op: string; readonly operand: Expr }
  | { readonly _tag: "Binary"; readonly op: string; readonly left: Expr; readonly right: Expr }

/**
 * One item of a statement: positional (`key` undefined) or `key=value` / `key~value`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Item {
  readonly key?: string
  readonly op?: "=" | "~"
  readonly value: Expr
}

/**
 * A statement (a command) and a script (statements).
 *
 * @category models
 * @since 0.1.0
 */
export interface Statement {
  readonly items: ReadonlyArray<Item>
}
/** @category models @since 0.1.0 */
export type Script = ReadonlyArray<Statement>

const simpleEscapes: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  r: "\r",
  t: "\t",
  $: "$",
  _: " ",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v"
}

const syntaxError = (at: number): RosError => new RosError(`syntax error (char ${at})`, 3)

/**
 * Parses a script; throws `RosError` (category 3, scripting) on a syntax error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseScript = (source: string): Script => {
  const parser = new Parser(source)
  const script = parser.script(undefined)
  if (parser.pos < source.length) throw syntaxError(parser.pos)
  return script
}

class Parser {
  pos = 0
  private readonly src: string
  constructor(src: string) {
    this.src = src
  }

  private peek(offset = 0): string {
    return this.src[this.pos + offset] ?? ""
  }

  private skipBlanks(newlines: boolean): void {
    for (;;) {
      const char = this.peek()
      if (char === " " || char === "\t" || char === "\r" || (newlines && char === "\n")) this.pos++
      else if (char === "\\" && this.peek(1) === "\n") this.pos += 2
      else if (char === "\\" && this.peek(1) === "\r" && this.peek(2) === "\n") this.pos += 3
      else return
    }
  }

  script(close: string | undefined): Script {
    const statements: Array<Statement> = []
    for (;;) {
      this.skipBlanks(true)
      const char = this.peek()
      if (char === "") {
        if (close !== undefined) throw syntaxError(this.pos)
        return statements
      }
      if (char === close) {
        this.pos++
        return statements
      }
      if (char === ";") {
        this.pos++
        continue
      }
      if (char === "#") {
        while (this.peek() !== "" && this.peek() !== "\n") this.pos++
        continue
      }
      statements.push(this.statement(close))
    }
  }

  private statement(close: string | undefined): Statement {
    const items: Array<Item> = []
    for (;;) {
      this.skipBlanks(false)
      const char = this.peek()
      if (char === "" || char === ";" || char === "\n" || char === close) return { items }
      if (char === "]" || char === "}" || char === ")") throw syntaxError(this.pos)
      items.push(this.item())
    }
  }

  private item(): Item {
    const char = this.peek()
    if ('"[({$'.includes(char)) return { value: this.value() }
    const start = this.pos
    while (this.pos < this.src.length && !' \t\r\n;[](){}"=~'.includes(this.peek())) this.pos++
    const text = this.src.slice(start, this.pos)
    const next = this.peek()
    if ((next === "=" || next === "~") && text !== "" && !text.startsWith(":")) {
      this.pos++
      return { key: text, op: next, value: this.value() }
    }
    if (text === "") throw syntaxError(this.pos)
    return { value: { _tag: "Word", text } }
  }

  /** A value right after `=` or in a positional slot. */
  private value(): Expr {
    const char = this.peek()
    if (char === '"') return this.string()
    if (char === "[") {
      this.pos++
      return { _tag: "Sub", script: this.script("]") }
    }
    if (char === "{") {
      this.pos++
      return { _tag: "Block", script: this.script("}") }
    }
    if (char === "(") {
      this.pos++
      const expr = this.expression()
      this.skipBlanks(true)
      if (this.peek() !== ")") throw syntaxError(this.pos)
      this.pos++
      return expr
    }
    if (char === "$") return this.variable()
    const start = this.pos
    while (this.pos < this.src.length && !' \t\r\n;[](){}"'.includes(this.peek())) this.pos++
    return { _tag: "Word", text: this.src.slice(start, this.pos) }
  }

  private variable(): Expr {
    this.pos++ // $
    const char = this.peek()
    if (char === "[" || char === "(") return this.value() // `$[command]`, `$(expression)`
    const start = this.pos
    while (/[A-Za-z0-9_-]/.test(this.peek())) this.pos++
    if (this.pos === start) throw syntaxError(this.pos)
    return { _tag: "Var", name: this.src.slice(start, this.pos) }
  }

  private string(): Expr {
    this.pos++ // opening quote
    const parts: Array<Expr | string> = []
    let text = ""
    for (;;) {
      const char = this.peek()
      if (char === "") throw syntaxError(this.pos)
      if (char === '"') {
        this.pos++
        break
      }
      if (char === "\\") {
        const next = this.peek(1)
        if (next === "\n") {
          this.pos += 2 // line joining inside a string
          continue
        }
        if (next in simpleEscapes) {
          text += simpleEscapes[next]
          this.pos += 2
          continue
        }
        const hex = this.src.slice(this.pos + 1, this.pos + 3)
        if (/^[0-9A-F]{2}$/.test(hex)) {
          text += String.fromCharCode(Number.parseInt(hex, 16))
          this.pos += 3
          continue
        }
        throw syntaxError(this.pos) // includes `\?`, removed in v7.1rc2 [DOC A3]
      }
      if (char === "$") {
        if (text !== "") parts.push(text)
        text = ""
        parts.push(this.variable())
        continue
      }
      text += char
      this.pos++
    }
    if (text !== "" || parts.length === 0) parts.push(text)
    return { _tag: "Str", parts }
  }

  // expression := or ; or := and ('||' and)* ; and := cmp ('&&' cmp)* ; cmp := cat (op cat)? ;
  // cat := unary (('.'|'+'|'-') unary)* ; unary := '!' unary | primary
  expression(): Expr {
    return this.leftAssociative("||", () => this.leftAssociative("&&", () => this.comparison()))
  }

  /** `operand (op operand)*`, folded to the left. */
  private leftAssociative(op: string, operand: () => Expr): Expr {
    let left = operand()
    for (;;) {
      this.skipBlanks(true)
      if (!this.src.startsWith(op, this.pos)) return left
      this.pos += op.length
      left = { _tag: "Binary", op, left, right: operand() }
    }
  }

  private comparison(): Expr {
    const left = this.concat()
    this.skipBlanks(true)
    for (const op of ["!=", "<=", ">=", "=", "<", ">", "~"]) {
      if (this.src.startsWith(op, this.pos)) {
        this.pos += op.length
        return { _tag: "Binary", op, left, right: this.concat() }
      }
    }
    return left
  }

  private concat(): Expr {
    let left = this.unary()
    for (;;) {
      this.skipBlanks(true)
      const char = this.peek()
      if (char === "." || char === "+" || char === "-") {
        this.pos++
        left = { _tag: "Binary", op: char, left, right: this.unary() }
      } else return left
    }
  }

  private unary(): Expr {
    this.skipBlanks(true)
    if (this.peek() === "!" && this.peek(1) !== "=") {
      this.pos++
      return { _tag: "Unary", op: "!", operand: this.unary() }
    }
    const char = this.peek()
    if ('"[({$'.includes(char)) return this.value()
    const start = this.pos
    while (/[A-Za-z0-9_:*]/.test(this.peek())) this.pos++
    if (this.pos === start) throw syntaxError(this.pos)
    return { _tag: "Word", text: this.src.slice(start, this.pos) }
  }
}
