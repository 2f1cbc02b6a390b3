/**
 * The API `print` query engine [DOC A1 "Queries", notes §1.3]: `?name`, `?-name`,
 * `?name=x` / `?=name=x`, `?<name=x`, `?>name=x`, and the `?#` stack operations. The stack
 * starts with infinitely many `true`; an item matches when no `false` is left.
 *
 * `<`/`>` compare numerically when both sides are numbers, else as strings ([??] in the notes).
 *
 * @since 0.1.0
 */

const compare = (left: string, right: string): number => {
  const a = Number(left)
  const b = Number(right)
  if (left !== "" && right !== "" && !Number.isNaN(a) && !Number.isNaN(b)) return a - b
  return left < right ? -1 : left > right ? 1 : 0
}

/**
 * Whether a row matches a list of query words (each without its leading `?`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const matches = (row: Readonly<Record<string, string>>, queries: ReadonlyArray<string>): boolean => {
  // `stack[0]` is the top; below the explicit entries the stack holds infinitely many `true`.
  let stack: Array<boolean> = []
  const at = (index: number): boolean => (index < stack.length ? stack[index]! : true)
  for (const query of queries) {
    if (query.startsWith("#")) {
      const ops = query.slice(1)
      let index = 0
      let afterIndex = false
      while (index < ops.length) {
        const char = ops[index]!
        if (/[0-9]/.test(char)) {
          let end = index
          while (end < ops.length && /[0-9]/.test(ops[end]!)) end++
          const position = Number(ops.slice(index, end))
          if (end === ops.length) {
            stack = [at(position)] // digits at the end replace the whole stack with that value
          } else {
            stack.unshift(at(position))
          }
          index = end
          afterIndex = true
          continue
        }
        if (char === "!") stack[0] = !at(0)
        else if (char === "&" || char === "|") {
          const a = at(0)
          const b = at(1)
          stack = stack.slice(2)
          stack.unshift(char === "&" ? a && b : a || b)
        } else if (char === ".") {
          if (!afterIndex) stack.unshift(at(0))
        }
        afterIndex = false
        index++
      }
      continue
    }
    let value: boolean
    if (query.startsWith("-")) value = !(query.slice(1) in row)
    else if (query.startsWith("<") || query.startsWith(">")) {
      const eq = query.indexOf("=")
      const name = query.slice(1, eq)
      const cell = row[name]
      value = cell !== undefined && (query[0] === "<" ? compare(cell, query.slice(eq + 1)) < 0 : compare(cell, query.slice(eq + 1)) > 0)
    } else {
      const body = query.startsWith("=") ? query.slice(1) : query
      const eq = body.indexOf("=")
      value = eq === -1 ? body in row : row[body.slice(0, eq)] === body.slice(eq + 1)
    }
    stack.unshift(value)
  }
  return stack.every((entry) => entry)
}
