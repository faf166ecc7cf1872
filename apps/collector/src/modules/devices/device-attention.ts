import { AgentHealthSchema, type DeviceSummary } from '@lantern/protocol';

/** No heartbeat for this long during school hours makes a device `quiet`. */
export const QUIET_AFTER_MS = 10 * 60 * 1000;
/** A capture waiting on the device longer than this is a `backlog`. */
const BACKLOG_AFTER_MS = 24 * 60 * 60 * 1000;

// Making a formatter costs ~40 times what using one does, and a device list asks once a
// device: keep one a time zone (a collector serves a handful).
const clocks = new Map<string, Intl.DateTimeFormat>();
function schoolClock(timeZone: string): Intl.DateTimeFormat {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    clocks.set(timeZone, clock);
  }
  return clock;
}

/**
 * School hours, when a device that stops reporting is worth a technician's look: Monday to
 * Friday, 08:00–16:30 in the school's time zone. (Per-site hours come with the monitoring
 * schedule.)
 */
export function inSchoolHours(at: Date, timeZone: string): boolean {
  const parts = schoolClock(timeZone).formatToParts(at);
  const part = (type: string) => parts.find((item) => item.type === type)?.value ?? '';
  if (['Sat', 'Sun'].includes(part('weekday'))) return false;
  const minutes = Number(part('hour')) * 60 + Number(part('minute'));
  return minutes >= 8 * 60 && minutes < 16 * 60 + 30;
}

/** Why a device needs a technician's attention, from what it last reported and when. */
export function deviceAttention(
  device: { lastSeenAt: Date | null; enrolledAt: Date; revokedAt: Date | null; health: unknown },
  site: { timezone: string },
  now: Date,
): DeviceSummary['attention'] {
  if (device.revokedAt) return [];
  const attention: DeviceSummary['attention'] = [];
  const lastHeard = device.lastSeenAt ?? device.enrolledAt;
  if (inSchoolHours(now, site.timezone) && now.getTime() - lastHeard.getTime() > QUIET_AFTER_MS)
    attention.push('quiet');
  const health = AgentHealthSchema.safeParse(device.health);
  if (health.success) {
    if (Object.values(health.data.sources).includes('failed')) attention.push('source_failed');
    if (health.data.droppedCount > 0) attention.push('dropping');
    const oldest = health.data.spool.oldestObservedAt;
    if (oldest && now.getTime() - Date.parse(oldest) > BACKLOG_AFTER_MS) attention.push('backlog');
  }
  return attention;
}
