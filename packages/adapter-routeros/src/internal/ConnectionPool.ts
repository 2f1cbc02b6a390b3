/**
 * One reusable connection per key (device): a live connection is shared by every call, a
 * dead or failed one is forgotten and the next call opens a new one.
 *
 * @since 0.1.0
 */

/**
 * The pool map.
 *
 * @category models
 * @since 0.1.0
 */
export class ConnectionPool<C extends { readonly alive: boolean }> {
  private readonly connections = new Map<string, Promise<C>>()

  /** The live connection of `key`, or a new one from `open`. */
  async acquire(key: string, open: () => Promise<C>): Promise<C> {
    const existing = this.connections.get(key)
    if (existing) {
      const connection = await existing.catch(() => undefined)
      if (connection?.alive) return connection
      this.forget(key, existing)
    }
    const pending = open()
    pending.catch(() => {})
    this.connections.set(key, pending)
    return pending
  }

  /** Forgets `pending` if it is still the connection of `key`. */
  forget(key: string, pending: Promise<C>): void {
    if (this.connections.get(key) === pending) this.connections.delete(key)
  }

  /** Every connection, removing them from the pool. */
  drain(): ReadonlyArray<Promise<C>> {
    const all = [...this.connections.values()]
    this.connections.clear()
    return all
  }
}
