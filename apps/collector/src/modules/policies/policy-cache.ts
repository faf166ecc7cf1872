import type { Policy } from '@lantern/protocol';

/**
 * Each site's current policy as this collector last read it, for the welcome every agent
 * gets when it connects: when 5,000 devices reconnect at once, one read per site, not one per
 * device. An entry is only as fresh as the announcements (NOTIFY) this instance hears, so
 * the ingest plugin refreshes a site whenever any instance changes its policy, and forgets
 * every site when its listener reconnects (it may have missed an announcement).
 */
export class PolicyCache {
  private readonly read: (siteId: string) => Promise<Policy>;
  private readonly entries = new Map<string, Promise<Policy>>();

  constructor(read: (siteId: string) => Promise<Policy>) {
    this.read = read;
  }

  /** The site's policy: read once, shared by every caller asking while the read runs. */
  current(siteId: string): Promise<Policy> {
    const cached = this.entries.get(siteId);
    if (cached) return cached;
    const reading = this.read(siteId);
    this.entries.set(siteId, reading);
    // A failed read (the database is down) is not kept: the next caller reads again.
    reading.catch(() => {
      if (this.entries.get(siteId) === reading) this.entries.delete(siteId);
    });
    return reading;
  }

  /** Read the site's policy again (it has changed). */
  refresh(siteId: string): Promise<Policy> {
    this.entries.delete(siteId);
    return this.current(siteId);
  }

  /** Forget every site's policy. */
  clear(): void {
    this.entries.clear();
  }
}
