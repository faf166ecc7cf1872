import type { Policy } from '@lantern/protocol';

/** How many versions other than the current ones a cache keeps. */
const MAX_KEPT_VERSIONS = 256;

/**
 * Each site's current policy as this collector last read it, for the welcome every agent
 * gets when it connects: when 5,000 devices reconnect at once, one read per site, not one per
 * device. An entry is only as fresh as the announcements (NOTIFY) this instance hears, so
 * the ingest plugin refreshes a site whenever any instance changes its policy, and forgets
 * every site when its listener reconnects (it may have missed an announcement).
 */
export class PolicyCache {
  private readonly read: (siteId: string) => Promise<Policy>;
  private readonly readVersion: (siteId: string, version: string) => Promise<Policy | undefined>;
  private readonly entries = new Map<string, Promise<Policy>>();
  /** Versions other than the current, by site and version: they never change once made. */
  private readonly versions = new Map<string, Promise<Policy | undefined>>();

  constructor(
    read: (siteId: string) => Promise<Policy>,
    readVersion: (siteId: string, version: string) => Promise<Policy | undefined> = async () =>
      undefined,
  ) {
    this.read = read;
    this.readVersion = readVersion;
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

  /**
   * A version of the site's policy a device may still be applying (it was offline when a
   * newer one was made): the current one if it is that version, else read once and kept
   * (the most recent 256 versions asked for). Undefined when the site never had it.
   */
  async version(siteId: string, version: string): Promise<Policy | undefined> {
    const current = await this.current(siteId);
    if (current.version === version) return current;
    const key = `${siteId}\u0000${version}`;
    let reading = this.versions.get(key);
    if (reading) {
      // Most recently used last, so the first is the one to forget.
      this.versions.delete(key);
    } else {
      reading = this.readVersion(siteId, version);
      reading.catch(() => {
        if (this.versions.get(key) === reading) this.versions.delete(key);
      });
      if (this.versions.size >= MAX_KEPT_VERSIONS) {
        const oldest = this.versions.keys().next().value;
        if (oldest !== undefined) this.versions.delete(oldest);
      }
    }
    this.versions.set(key, reading);
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
