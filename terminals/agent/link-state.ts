// Whether the service is answering, as the agent last saw it. Taps, uploads and deny-list refreshes
// all report here; the step from offline back to online starts an upload and a deny-list refresh
// at once instead of waiting for their next interval.
export type LinkMode = 'online' | 'offline'

export class LinkState {
  private current: LinkMode = 'online'
  private readonly listeners: Array<() => void> = []

  /** `forcedOffline`: the terminal is set offline (config): taps are decided locally, always. */
  constructor (readonly forcedOffline = false) {}

  /** What ops see in the heartbeat: offline when forced or when the service stopped answering. */
  get mode (): LinkMode { return this.forcedOffline ? 'offline' : this.current }

  /** The service answered (a decision, an upload, a list). */
  markOnline (): void {
    const wasOffline = this.current === 'offline'
    this.current = 'online'
    if (wasOffline) for (const fn of this.listeners) fn()
  }

  /** The service did not answer in time, or answered 5xx. */
  markOffline (): void { this.current = 'offline' }

  onBackOnline (fn: () => void): void { this.listeners.push(fn) }
}
