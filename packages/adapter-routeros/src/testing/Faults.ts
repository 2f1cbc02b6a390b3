/**
 * Fault injection for the simulator: per-command rules (drop the connection, delay the
 * reply, answer with a trap or a `!fatal`, never answer, fragment the reply bytes) and an
 * `offline` switch (every connection is refused or cut).
 *
 * @since 0.1.0
 */

/**
 * What happens to a matching command.
 *
 * - `drop`: the TCP connection is destroyed without a reply.
 * - `delay`: the reply is sent after `ms`.
 * - `trap`: `!trap =message=… [=category=…]` then `!done` instead of running the command.
 * - `fatal`: `!fatal <reason>` then close [DOC A1][OBS C4].
 * - `silence`: the command is accepted and never answered (idle connection).
 * - `fragment`: the reply is written in chunks of `size` bytes; `beforeTerminator` splits right
 *   before the last zero byte (the node-routeros receiver hazard, notes §3.5).
 *
 * @category models
 * @since 0.1.0
 */
export type FaultAction =
  | { readonly _tag: "drop" }
  | { readonly _tag: "delay"; readonly ms: number }
  | { readonly _tag: "trap"; readonly message: string; readonly category?: number }
  | { readonly _tag: "fatal"; readonly reason: string }
  | { readonly _tag: "silence" }
  | { readonly _tag: "fragment"; readonly size?: number; readonly beforeTerminator?: boolean }

/**
 * A fault rule: applies to commands whose path (e.g. `/user/add`) matches, `times` times
 * (default: until cleared).
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultRule {
  readonly command: string | RegExp
  readonly action: FaultAction
  readonly times?: number
}

/**
 * The fault controller of one simulator.
 *
 * @category models
 * @since 0.1.0
 */
export class Faults {
  private rules: Array<{ rule: FaultRule; remaining: number }> = []
  /** When true, new connections are destroyed at once and live ones are cut. */
  offline = false
  /** Called when `setOffline(true)` so servers can cut live connections. */
  onOffline: () => void = () => {}

  /** Adds a rule. */
  inject(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY })
  }

  /** Removes every rule and goes back online. */
  clear(): void {
    this.rules = []
    this.offline = false
  }

  /** Switches the device offline (cutting live connections) or back online. */
  setOffline(offline: boolean): void {
    this.offline = offline
    if (offline) this.onOffline()
  }

  /** The action for a command, consuming one use of its rule. */
  take(command: string): FaultAction | undefined {
    for (const entry of this.rules) {
      const { command: pattern } = entry.rule
      const hit = typeof pattern === "string" ? pattern === command : pattern.test(command)
      if (!hit || entry.remaining <= 0) continue
      entry.remaining--
      return entry.rule.action
    }
    return undefined
  }
}
