import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Which way bytes went through the proxy. */
export type ProxyDirection = 'to-server' | 'to-client';

/**
 * What an outage does to the connections that are up when it begins. `reset`: both ends get
 * a TCP reset, as when a router or NAT restarts or a firewall rejects. `stall`: nothing
 * more gets through either way, silently, as when a cable is pulled or Wi-Fi drops; when
 * the network is back the bytes flow again, as TCP's retransmissions would deliver them,
 * and an end that went away meanwhile shows up as a reset.
 */
export type LiveConnectionFate = 'reset' | 'stall';

export interface TcpProxyOptions {
  /** Where to forward, read at each new connection (a restarted server may move). */
  readonly target: () => { host: string; port: number };
  /** Every chunk forwarded, with the connection's number: lets a test read the traffic. */
  readonly onData?: (connection: number, direction: ProxyDirection, chunk: Buffer) => void;
  /** During an outage, whether a new connection is reset at once (true) or held silent. */
  readonly refuseDuringOutage?: () => boolean;
}

/** What the proxy did, for assertions and failure messages. */
export interface TcpProxyStats {
  accepted: number;
  /** Live connections reset when an outage began. */
  cut: number;
  /** Live connections stalled by an outage. */
  stalled: number;
  /** Connections made during an outage and reset at once. */
  refused: number;
  /** Connections made during an outage and held without an answer until it ended. */
  blackholed: number;
  /** Connections whose server end could not be reached (the server was down). */
  upstreamFailed: number;
}

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  /** Held by a stalled outage: an end that closes meanwhile is acted on at `restore()`. */
  stalled: boolean;
  /** Which end closed while the pair was stalled. */
  closedWhileStalled: 'client' | 'server' | undefined;
}

/**
 * A TCP proxy on 127.0.0.1 between a client and a server, standing in for the network. An
 * outage (`cut(fate)` … `restore()`) resets or stalls every live connection (see
 * `LiveConnectionFate`) and answers no new one: each is either reset at once (refused) or
 * accepted and left silent (blackholed: the client's own timeout must end it), as
 * `refuseDuringOutage` says. A server that goes away resets its connections' clients, as its
 * host would. `close()` resets everything and stops listening.
 */
export class TcpProxy {
  readonly stats: TcpProxyStats = {
    accepted: 0,
    cut: 0,
    stalled: 0,
    refused: 0,
    blackholed: 0,
    upstreamFailed: 0,
  };
  readonly #server: Server;
  readonly #options: TcpProxyOptions;
  readonly #pairs = new Set<Pair>();
  readonly #held = new Set<Socket>();
  #down = false;
  #connections = 0;

  private constructor(server: Server, options: TcpProxyOptions) {
    this.#server = server;
    this.#options = options;
    server.on('connection', (client) => this.#accept(client));
  }

  /** Listen on a free port of 127.0.0.1. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, options);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (typeof address !== 'object' || !address) throw new Error('the proxy is not listening');
    return address.port;
  }

  /** `http://127.0.0.1:<port>`: the address clients are given. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether an outage is in progress. */
  get isDown(): boolean {
    return this.#down;
  }

  /** Begin an outage: live connections are reset or stalled; no new one is answered. */
  cut(fate: LiveConnectionFate): void {
    this.#down = true;
    for (const pair of [...this.#pairs]) {
      if (fate === 'reset') {
        this.stats.cut += 1;
        this.#reset(pair);
      } else if (!pair.stalled) {
        this.stats.stalled += 1;
        pair.stalled = true;
        pair.client.pause();
        pair.server.pause();
      }
    }
  }

  /**
   * End the outage: stalled connections flow again (or are reset, if an end went away
   * meanwhile), connections held silent are reset, new ones are forwarded again.
   */
  restore(): void {
    this.#down = false;
    for (const socket of this.#held) socket.resetAndDestroy();
    this.#held.clear();
    for (const pair of [...this.#pairs]) {
      if (!pair.stalled) continue;
      pair.stalled = false;
      if (pair.closedWhileStalled) {
        this.#reset(pair);
      } else {
        pair.client.resume();
        pair.server.resume();
      }
    }
  }

  /** Reset every connection and stop listening. Idempotent. */
  async close(): Promise<void> {
    this.#down = true;
    for (const pair of [...this.#pairs]) this.#reset(pair);
    for (const socket of this.#held) socket.resetAndDestroy();
    this.#held.clear();
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }

  #accept(client: Socket): void {
    this.stats.accepted += 1;
    // A reset or a peer gone mid-write: the pair is torn down on 'close' below.
    client.on('error', () => undefined);
    if (this.#down) {
      if (this.#options.refuseDuringOutage?.() ?? true) {
        this.stats.refused += 1;
        client.resetAndDestroy();
      } else {
        this.stats.blackholed += 1;
        this.#held.add(client);
        client.resume();
        client.on('close', () => this.#held.delete(client));
      }
      return;
    }
    const connection = (this.#connections += 1);
    client.pause();
    const { host, port } = this.#options.target();
    const server = createConnection({ host, port });
    const pair: Pair = { client, server, stalled: false, closedWhileStalled: undefined };
    this.#pairs.add(pair);
    let connected = false;
    server.on('error', () => undefined);
    server.once('connect', () => {
      connected = true;
      if (!this.#pairs.has(pair)) return;
      this.#pipe(connection, client, server, 'to-server');
      this.#pipe(connection, server, client, 'to-client');
      if (!pair.stalled) client.resume();
    });
    server.on('close', () => {
      if (!this.#pairs.has(pair)) return;
      if (pair.stalled) {
        pair.closedWhileStalled ??= 'server';
        return;
      }
      this.#pairs.delete(pair);
      if (!connected) this.stats.upstreamFailed += 1;
      // The server is gone (killed, or not listening): the client's connection is reset.
      client.resetAndDestroy();
    });
    client.on('close', () => {
      if (!this.#pairs.has(pair)) return;
      if (pair.stalled) {
        pair.closedWhileStalled ??= 'client';
        return;
      }
      this.#pairs.delete(pair);
      server.destroy();
    });
  }

  #pipe(connection: number, from: Socket, to: Socket, direction: ProxyDirection): void {
    from.on('data', (chunk: Buffer) => {
      this.#options.onData?.(connection, direction, chunk);
      if (!to.destroyed) to.write(chunk);
    });
    from.on('end', () => to.end());
  }

  #reset(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.server.resetAndDestroy();
  }
}
