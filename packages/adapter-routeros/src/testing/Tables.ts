/**
 * Generic RouterOS menu tables for the simulator: items with `*HEX` ids, stored fields,
 * defaults, read-only and write-only fields, and the `print` view.
 *
 * Sources: ids are `*` + uppercase hex, monotonically increasing and never reused [OBS C1;
 * reuse is [??], notes §1.7]; unset optional properties are omitted from print [OBS C1];
 * booleans print as `true`/`false` [OBS C1 v7]; input accepts `yes/no/true/false` [DOC A1].
 *
 * @since 0.1.0
 */
import { RosError, texts } from "./RosError.ts"

/**
 * One stored item: its numeric id and its properties as RouterOS prints them.
 *
 * @category models
 * @since 0.1.0
 */
export interface Item {
  readonly id: number
  readonly props: Map<string, string>
}

/**
 * What a table accepts.
 *
 * @category models
 * @since 0.1.0
 */
export interface TableSpec {
  /** Fields that `add`/`set` accept. */
  readonly writable: ReadonlyArray<string>
  /** Fields stored but never printed (e.g. `password`). */
  readonly hidden?: ReadonlyArray<string>
  /** Boolean fields (normalised to `true`/`false`). */
  readonly booleans?: ReadonlyArray<string>
  /** Defaults applied on add. */
  readonly defaults?: Readonly<Record<string, string>>
  /** Field that `.id` lookups also accept by value (`name`), and that must be unique. */
  readonly key?: string
  /** Text of the duplicate-key trap. */
  readonly duplicateText?: string
}

/**
 * Formats an id as RouterOS does: `*` + uppercase hex.
 *
 * @category constructors
 * @since 0.1.0
 */
export const formatId = (id: number): string => `*${id.toString(16).toUpperCase()}`

const parseBoolean = (name: string, value: string): string => {
  if (value === "yes" || value === "true") return "true"
  if (value === "no" || value === "false") return "false"
  throw new RosError(texts.invalidValue(name, value), 1)
}

/**
 * A menu table.
 *
 * @category models
 * @since 0.1.0
 */
export class Table {
  readonly spec: TableSpec
  readonly items: Array<Item> = []
  private nextId: number

  constructor(spec: TableSpec, firstId = 1) {
    this.spec = spec
    this.nextId = firstId
  }

  /** Validates and normalises attributes for add/set. */
  normalise(attrs: ReadonlyMap<string, string>): Map<string, string> {
    const out = new Map<string, string>()
    for (const [name, value] of attrs) {
      if (!this.spec.writable.includes(name)) throw new RosError(texts.unknownParameter, 1)
      out.set(name, this.spec.booleans?.includes(name) ? parseBoolean(name, value) : value)
    }
    return out
  }

  /** Finds an item by `*HEX` id or by its key field. */
  lookup(ref: string): Item {
    const item = this.find(ref)
    if (!item) throw new RosError(texts.noSuchItem, 0)
    return item
  }

  /** Like `lookup`, `undefined` when absent. */
  find(ref: string): Item | undefined {
    if (/^\*[0-9A-Fa-f]+$/.test(ref)) {
      const id = Number.parseInt(ref.slice(1), 16)
      return this.items.find((item) => item.id === id)
    }
    const key = this.spec.key
    return key === undefined ? undefined : this.items.find((item) => item.props.get(key) === ref)
  }

  /** Adds an item; returns its id. */
  add(attrs: ReadonlyMap<string, string>): Item {
    const props = new Map<string, string>(Object.entries(this.spec.defaults ?? {}))
    for (const [name, value] of this.normalise(attrs)) props.set(name, value)
    this.checkUnique(props, undefined)
    const item: Item = { id: this.nextId++, props }
    this.items.push(item)
    return item
  }

  /** Inserts an item without validation (built-in defaults). */
  seed(props: Record<string, string>): Item {
    const item: Item = { id: this.nextId++, props: new Map(Object.entries(props)) }
    this.items.push(item)
    return item
  }

  /** Sets attributes on an item. */
  set(item: Item, attrs: ReadonlyMap<string, string>): void {
    const next = new Map(item.props)
    for (const [name, value] of this.normalise(attrs)) next.set(name, value)
    this.checkUnique(next, item)
    for (const [name, value] of next) item.props.set(name, value)
  }

  /** Removes an item. */
  remove(item: Item): void {
    const index = this.items.indexOf(item)
    if (index !== -1) this.items.splice(index, 1)
  }

  /** The print view of an item: `.id` plus every visible, non-empty-unset property. */
  view(item: Item): Record<string, string> {
    const row: Record<string, string> = { ".id": formatId(item.id) }
    for (const [name, value] of item.props) {
      if (this.spec.hidden?.includes(name)) continue
      row[name] = value
    }
    return row
  }

  private checkUnique(props: ReadonlyMap<string, string>, self: Item | undefined): void {
    const key = this.spec.key
    if (key === undefined) return
    const value = props.get(key)
    if (value === undefined) return
    if (this.items.some((item) => item !== self && item.props.get(key) === value)) {
      throw new RosError(this.spec.duplicateText ?? texts.duplicateName, 4)
    }
  }
}
