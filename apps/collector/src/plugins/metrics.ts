import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The collector's Prometheus metrics: nothing in them identifies a pupil or holds content. */
export interface CollectorMetrics {
  readonly registry: Registry;
  readonly capturesStored: Counter;
  readonly ackLatency: Histogram;
  readonly framesRejected: Counter<'code'>;
  readonly approvedLessonFlagsCleared: Counter;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: CollectorMetrics;
  }
}

/** `/metrics` in Prometheus text format: ingest rate, ack latency, agents, rejections, database pool. */
export const metricsPlugin = fp(
  async (app) => {
    // One registry per app, so two apps in one process (tests, two instances) never share counters.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'lantern_collector_' });
    const metrics: CollectorMetrics = {
      registry,
      capturesStored: new Counter({
        name: 'lantern_captures_stored_total',
        help: 'Captures acknowledged to agents after commit (resends of stored captures included).',
        registers: [registry],
      }),
      ackLatency: new Histogram({
        name: 'lantern_capture_ack_seconds',
        help: 'From a capture frame arriving to its ack being sent (validation, commit, ack).',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
      framesRejected: new Counter({
        name: 'lantern_frames_rejected_total',
        help: 'Agent frames (or captures within them) refused, by error code.',
        labelNames: ['code'],
        registers: [registry],
      }),
      approvedLessonFlagsCleared: new Counter({
        name: 'lantern_approved_lesson_flags_cleared_total',
        help: 'Captures that claimed an approved lesson their policy does not cover (stored unflagged, so they alert).',
        registers: [registry],
      }),
    };
    new Gauge({
      name: 'lantern_agents_connected',
      help: 'Agent WebSockets open on this collector instance.',
      registers: [registry],
      collect() {
        this.set(app.hasDecorator('agents') ? app.agents.size : 0);
      },
    });
    new Gauge({
      name: 'lantern_db_pool_connections',
      help: 'PostgreSQL pool connections by state (absent on embedded PGlite).',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const stats = app.database.poolStats();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    app.decorate('metrics', metrics);
    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: 'metrics', dependencies: ['db'] },
);
