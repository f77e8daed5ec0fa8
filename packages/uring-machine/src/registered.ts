// Registered ("fixed") buffers: memory the kernel has pinned, for reads,
// writes and zero-copy sends that skip both the per-op page lookup and
// uring-machine's bounce copy. The memory is native (an anonymous mapping)
// and outlives the registration and every view of it, so no GC, transfer
// or terminated worker can free pages the kernel still holds.

/** What `Machine.registerBuffers` returns. */
export class RegisteredBuffers {
  readonly #unregister: () => boolean
  #registered = true

  /** @internal */
  constructor (
    /** How many buffers. */
    readonly count: number,
    /** Each buffer's size in bytes. */
    readonly size: number,
    /** The buffers: Buffer views over the registered memory. Fixed ops read and write them in place. */
    readonly buffers: readonly Buffer[],
    unregister: () => boolean
  ) {
    this.#unregister = unregister
    Object.freeze(this.buffers)
  }

  /** Whether the kernel still has them registered (false after `unregister()` or the Machine's `destroy()`). */
  get registered (): boolean {
    return this.#registered
  }

  /**
   * Ends the registration. Ops already in flight finish on their pages; new
   * fixed ops on these buffers throw. The views stay usable as plain memory.
   */
  unregister (): void {
    if (!this.#registered) return
    this.#registered = false
    this.#unregister()
  }

  /** @internal */
  markGone (): void {
    this.#registered = false
  }
}
