/**
 * The RouterOS API wire format: word lengths, words and sentences.
 *
 * A word is an encoded length followed by that many bytes; a sentence is words ended by a
 * zero-length word (MikroTik manual "API", §"Protocol" — notes §1.2/§1.3). Words are byte
 * strings: this module treats them as `latin1` so every byte survives unchanged.
 *
 * @since 0.1.0
 */

/**
 * Encodes a word length with the five forms of the manual (§1.2): 1 byte up to 0x7F,
 * 2 bytes up to 0x3FFF, 3 up to 0x1FFFFF, 4 up to 0xFFFFFFF, then `0xF0` + 4 bytes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const encodeLength = (length: number): Buffer => {
  if (length < 0x80) return Buffer.from([length])
  if (length < 0x4000) return Buffer.from([((length | 0x8000) >> 8) & 0xff, length & 0xff])
  if (length < 0x200000) {
    return Buffer.from([((length | 0xc00000) >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff])
  }
  if (length < 0x10000000) {
    return Buffer.from([((length | 0xe0000000) >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff])
  }
  return Buffer.from([0xf0, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff])
}

/**
 * A decoded length: the value and how many bytes its prefix took, or `incomplete` when
 * more bytes are needed, or `control` for a reserved first byte ≥ 0xF8 (§1.2: a client
 * that sees one "cannot proceed").
 *
 * @category models
 * @since 0.1.0
 */
export type DecodedLength =
  | { readonly _tag: "Length"; readonly length: number; readonly size: number }
  | { readonly _tag: "Incomplete" }
  | { readonly _tag: "Control"; readonly byte: number }

/**
 * Decodes a word length at `offset`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeLength = (buffer: Buffer, offset: number): DecodedLength => {
  if (offset >= buffer.length) return { _tag: "Incomplete" }
  const first = buffer[offset]!
  const size = first < 0x80 ? 1 : first < 0xc0 ? 2 : first < 0xe0 ? 3 : first < 0xf0 ? 4 : first === 0xf0 ? 5 : 0
  if (size === 0) return { _tag: "Control", byte: first }
  if (offset + size > buffer.length) return { _tag: "Incomplete" }
  if (size === 1) return { _tag: "Length", length: first, size }
  if (size === 5) return { _tag: "Length", length: buffer.readUInt32BE(offset + 1), size }
  const masks = [0, 0, 0x3f, 0x1f, 0x0f]
  let length = first & masks[size]!
  for (let index = 1; index < size; index++) length = length * 256 + buffer[offset + index]!
  return { _tag: "Length", length, size }
}

/**
 * Encodes one word (a `latin1` byte string).
 *
 * @category constructors
 * @since 0.1.0
 */
export const encodeWord = (word: string): Buffer => {
  const bytes = Buffer.from(word, "latin1")
  return Buffer.concat([encodeLength(bytes.length), bytes])
}

/**
 * Encodes a sentence: its words and the zero-length terminator.
 *
 * @category constructors
 * @since 0.1.0
 */
export const encodeSentence = (words: ReadonlyArray<string>): Buffer => Buffer.concat([...words.map(encodeWord), Buffer.from([0])])

/**
 * An incremental sentence reader: feed it bytes as they arrive, collect complete sentences.
 * Empty sentences are dropped (§1.3 "Empty sentences are ignored").
 *
 * @category constructors
 * @since 0.1.0
 */
export class SentenceReader {
  private pending: Buffer = Buffer.alloc(0)
  private words: Array<string> = []

  /** Appends bytes; returns the sentences completed, or `control` on a reserved byte. */
  push(chunk: Buffer): { readonly sentences: ReadonlyArray<ReadonlyArray<string>>; readonly control: boolean } {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const sentences: Array<ReadonlyArray<string>> = []
    let offset = 0
    for (;;) {
      const decoded = decodeLength(this.pending, offset)
      if (decoded._tag === "Control") return { sentences, control: true }
      if (decoded._tag === "Incomplete") break
      const end = offset + decoded.size + decoded.length
      if (end > this.pending.length) break
      if (decoded.length === 0) {
        if (this.words.length > 0) sentences.push(this.words)
        this.words = []
      } else {
        this.words.push(this.pending.toString("latin1", offset + decoded.size, end))
      }
      offset = end
    }
    this.pending = this.pending.subarray(offset)
    return { sentences, control: false }
  }

  /** Bytes buffered but not yet part of a complete word. */
  get buffered(): number {
    return this.pending.length
  }
}

/**
 * Splits an attribute word `=name=value` at the first `=` after the leading one (§1.3).
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseAttribute = (word: string): readonly [string, string] | undefined => {
  if (!word.startsWith("=")) return undefined
  const index = word.indexOf("=", 1)
  return index === -1 ? [word.slice(1), ""] : [word.slice(1, index), word.slice(index + 1)]
}
