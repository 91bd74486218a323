/**
 * The daemon's one connection to the D-Bus system bus.
 *
 * dbus-next gives a raw connection that never fails pending calls when the
 * socket dies and never reconnects; this wrapper adds what the runtime needs:
 * a lazily opened connection, per-call timeouts, D-Bus errors translated to
 * RuntimeError, and transparent reconnection (e.g. `systemctl restart dbus`):
 * the next call opens a new connection, re-adds signal match rules and re-runs
 * connect hooks (systemd's Subscribe), and signal subscribers are told so they
 * can re-check what they were waiting for. dbus-next's loose types stay here.
 */
import { DBusError, Message, MessageType, Variant, sessionBus, systemBus, type MessageBus } from 'dbus-next';
import { internal, RuntimeError, unavailable } from '../errors.js';
import { callTimedOut, connectionFailed, fromDBusError, type CallSite } from './bus-errors.js';

/** One method call: where it goes, its D-Bus signature and body, its timeout. */
export interface BusCall extends CallSite {
  signature?: string;
  body?: unknown[];
  /** Milliseconds to wait for the reply; defaults to the bus's timeout (30 s). */
  timeoutMs?: number;
}

/** A D-Bus variant value for `v` arguments (build with `variant()`). */
export interface BusVariant {
  readonly signature: string;
  readonly value: unknown;
}

/** Wraps a value as a D-Bus variant of the given signature (e.g. `variant('t', 1n)`). */
export function variant(signature: string, value: unknown): BusVariant {
  return new Variant(signature, value);
}

/** Which broadcast signals a subscriber wants (becomes a bus match rule). */
export interface SignalMatch {
  /** Well-known or unique name of the emitter; the bus daemon filters on it. */
  sender: string;
  path?: string;
  interface: string;
  member: string;
}

/** A received signal, variants left as values. */
export interface BusSignal {
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

/** What a subscriber is told: each matching signal, and each reconnection (signals may have been lost). */
export interface SignalHandlers {
  onSignal(signal: BusSignal): void;
  onReconnect?(): void;
}

/** Handle returned by `subscribe`; removes the match rule when the last user goes. */
export interface SignalSubscription {
  unsubscribe(): Promise<void>;
}

/** Runs once on every new connection before other calls use it (e.g. systemd Manager.Subscribe). */
export type ConnectHook = (call: (c: BusCall) => Promise<unknown[]>) => Promise<void>;

/** Options for `SystemBus`; defaults suit the daemon. */
export interface SystemBusOptions {
  /** Default per-call timeout in ms (runc waits 30 s for a scope start). */
  timeoutMs?: number;
  /** Timeout for opening the connection (socket + Hello), in ms. */
  connectTimeoutMs?: number;
  /** Bus address (`unix:path=...`); default: $DBUS_SYSTEM_BUS_ADDRESS or the system bus socket. */
  address?: string;
  /** Told when the connection dies (not on close()) and when a later one is opened, e.g. for the daemon's log. */
  onConnectionChange?: (change: 'lost' | 'reconnected', reason?: string) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const RECONNECT_DELAYS_MS = [100, 250, 500, 1000, 2000];
const DBUS: CallSite = {
  destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  interface: 'org.freedesktop.DBus',
  member: '',
};
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** The parts of dbus-next's private state this wrapper relies on. */
interface RawInternals {
  _connection?: NodeJS.EventEmitter & { stream?: NodeJS.EventEmitter };
  _methodReturnHandlers?: Record<string, unknown>;
}

interface Conn {
  raw: MessageBus;
  alive: boolean;
  pending: Set<(err: Error) => void>;
  rules: Map<string, number>;
  hooks: Map<string, Promise<void>>;
}

interface Sub {
  match: SignalMatch;
  rule: string;
  handlers: SignalHandlers;
  conn: Conn | null;
}

/** A lazily connected, self-reconnecting system bus client. */
export class SystemBus {
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly address: string | undefined;
  private readonly onConnectionChange: SystemBusOptions['onConnectionChange'];
  private current: Conn | null = null;
  private connecting: Promise<Conn> | null = null;
  private opened = 0;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly subs = new Set<Sub>();
  private readonly hooks = new Map<string, ConnectHook>();

  constructor(options: SystemBusOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.address = options.address;
    this.onConnectionChange = options.onConnectionChange;
  }

  /** Calls a method and returns the reply body; RuntimeError on error replies, timeouts and bus failures. */
  async call(c: BusCall): Promise<unknown[]> {
    const conn = await this.connection(c);
    try {
      return await this.rawCall(conn, c);
    } catch (err) {
      // Like runc's retryOnDisconnect: a call that died with its connection
      // (e.g. dbus restarted under it) is retried once on a fresh one.
      if (!isConnectionFailure(err) || this.closed) throw err;
      return this.rawCall(await this.connection(c), c);
    }
  }

  /** org.freedesktop.DBus.Properties.Get, variant unwrapped. */
  async getProperty(destination: string, path: string, iface: string, name: string): Promise<unknown> {
    const [v] = await this.call({ destination, path, interface: PROPERTIES, member: 'Get', signature: 'ss', body: [iface, name] });
    return v instanceof Variant ? v.value : v;
  }

  /** org.freedesktop.DBus.Properties.GetAll, variants unwrapped. */
  async getAllProperties(destination: string, path: string, iface: string): Promise<Record<string, unknown>> {
    const [all] = await this.call({ destination, path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [iface] });
    const out: Record<string, unknown> = {};
    if (all !== null && typeof all === 'object') {
      for (const [k, v] of Object.entries(all)) out[k] = v instanceof Variant ? v.value : v;
    }
    return out;
  }

  /** Starts delivering matching signals; the match survives reconnections until unsubscribed. */
  async subscribe(match: SignalMatch, handlers: SignalHandlers): Promise<SignalSubscription> {
    const sub: Sub = { match, rule: matchRule(match), handlers, conn: null };
    this.subs.add(sub);
    try {
      const conn = await this.connection();
      if (sub.conn !== conn) {
        await this.addRule(conn, sub.rule);
        sub.conn = conn;
      }
    } catch (err) {
      this.subs.delete(sub);
      throw err;
    }
    return { unsubscribe: () => this.unsubscribe(sub) };
  }

  /** Registers `hook` under `key` (once) and makes sure it has run on the current connection. */
  async addConnectHook(key: string, hook: ConnectHook): Promise<void> {
    if (!this.hooks.has(key)) this.hooks.set(key, hook);
    const conn = await this.connection();
    await this.runHook(conn, key);
  }

  /**
   * Opens the connection ahead of the first call (a call opens it anyway),
   * so that its handshake overlaps other work. Never throws: a failure is the
   * next call's to report.
   */
  warmUp(): void {
    this.connection().catch(() => undefined);
  }

  /** Closes the connection for good; pending and later calls fail with Unavailable. */
  close(): void {
    this.closed = true;
    this.subs.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.current) this.kill(this.current, new Error('bus closed'));
  }

  private async connection(site?: CallSite): Promise<Conn> {
    if (this.closed) throw unavailable('system bus connection closed', { fields: site ? { method: site.member } : {} });
    if (this.current?.alive) return this.current;
    if (!this.connecting) {
      this.connecting = this.open().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<Conn> {
    let raw: MessageBus;
    try {
      raw = this.address ? sessionBus({ busAddress: this.address }) : systemBus();
    } catch (err) {
      throw connectionFailed(err);
    }
    const conn: Conn = { raw, alive: true, pending: new Set(), rules: new Map(), hooks: new Map() };
    const die = (err: unknown) => this.kill(conn, err);
    raw.on('error', die);
    const internals = raw as unknown as RawInternals;
    internals._connection?.on('end', () => die(new Error('connection closed by the bus')));
    internals._connection?.stream?.on('close', () => die(new Error('connection closed')));
    raw.on('message', (msg: Message) => this.dispatch(conn, msg));
    try {
      await this.waitConnected(conn);
      for (const sub of this.subs) {
        await this.addRule(conn, sub.rule);
        sub.conn = conn;
      }
    } catch (err) {
      this.kill(conn, err);
      throw connectionFailed(err);
    }
    for (const key of this.hooks.keys()) await this.runHook(conn, key).catch(() => undefined);
    const reconnected = this.opened++ > 0;
    if (this.closed) {
      this.kill(conn, new Error('bus closed'));
      throw unavailable('system bus connection closed');
    }
    this.current = conn;
    if (reconnected) {
      safely(() => this.onConnectionChange?.('reconnected'));
      for (const sub of this.subs) safely(() => sub.handlers.onReconnect?.());
    }
    return conn;
  }

  private waitConnected(conn: Conn): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no Hello reply within ${this.connectTimeoutMs}ms`)), this.connectTimeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        conn.pending.delete(done);
        conn.raw.removeListener('connect', onConnect);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = () => done();
      conn.pending.add(done);
      conn.raw.on('connect', onConnect);
    });
  }

  private rawCall(conn: Conn, c: BusCall): Promise<unknown[]> {
    const site: CallSite = { destination: c.destination, path: c.path, interface: c.interface, member: c.member };
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    return new Promise<unknown[]>((resolve, reject) => {
      if (!conn.alive) {
        reject(connectionFailed(new Error('connection closed'), site));
        return;
      }
      const msg = new Message({ ...site, signature: c.signature ?? '', body: c.body ?? [] });
      const forget = () => {
        const handlers = (conn.raw as unknown as RawInternals)._methodReturnHandlers;
        if (handlers && msg.serial !== null) delete handlers[String(msg.serial)];
      };
      const finish = () => {
        clearTimeout(timer);
        conn.pending.delete(fail);
      };
      const fail = (err: Error) => {
        finish();
        forget();
        reject(connectionFailed(err, site));
      };
      const timer = setTimeout(() => {
        finish();
        forget();
        reject(callTimedOut(site, timeoutMs));
      }, timeoutMs);
      conn.pending.add(fail);
      conn.raw.call(msg).then(
        (reply) => {
          finish();
          resolve(reply?.body ?? []);
        },
        (err: unknown) => {
          finish();
          forget();
          if (err instanceof DBusError) reject(fromDBusError(err.type, err.text, site));
          else if (!conn.alive || isClosedStreamError(err)) reject(connectionFailed(err, site));
          else reject(encodeFailed(err, site));
        },
      );
    });
  }

  private dispatch(conn: Conn, msg: Message): void {
    if (msg.type !== MessageType.SIGNAL || !conn.alive) return;
    for (const sub of this.subs) {
      const m = sub.match;
      if (m.interface !== msg.interface || m.member !== msg.member) continue;
      if (m.path !== undefined && m.path !== msg.path) continue;
      const signal: BusSignal = { path: msg.path, interface: msg.interface, member: msg.member, body: msg.body };
      safely(() => sub.handlers.onSignal(signal));
    }
  }

  private async addRule(conn: Conn, rule: string): Promise<void> {
    const n = conn.rules.get(rule) ?? 0;
    conn.rules.set(rule, n + 1);
    if (n > 0) return;
    try {
      await this.rawCall(conn, { ...DBUS, member: 'AddMatch', signature: 's', body: [rule] });
    } catch (err) {
      conn.rules.delete(rule);
      throw err;
    }
  }

  private async unsubscribe(sub: Sub): Promise<void> {
    if (!this.subs.delete(sub)) return;
    const conn = sub.conn;
    sub.conn = null;
    if (!conn?.alive) return;
    const n = conn.rules.get(sub.rule) ?? 0;
    if (n > 1) {
      conn.rules.set(sub.rule, n - 1);
      return;
    }
    conn.rules.delete(sub.rule);
    await this.rawCall(conn, { ...DBUS, member: 'RemoveMatch', signature: 's', body: [sub.rule] }).catch(() => undefined);
  }

  private runHook(conn: Conn, key: string): Promise<void> {
    const hook = this.hooks.get(key);
    if (!hook) return Promise.resolve();
    let run = conn.hooks.get(key);
    if (!run) {
      run = hook((c) => this.rawCall(conn, c)).catch((err: unknown) => {
        conn.hooks.delete(key);
        throw err;
      });
      conn.hooks.set(key, run);
    }
    return run;
  }

  /** Marks a connection dead, fails everything waiting on it, and schedules a reconnect if anyone listens. */
  private kill(conn: Conn, cause: unknown): void {
    if (!conn.alive) return;
    conn.alive = false;
    const wasCurrent = this.current === conn;
    if (wasCurrent) this.current = null;
    const err = cause instanceof Error ? cause : new Error(String(cause));
    for (const fail of [...conn.pending]) fail(err);
    conn.pending.clear();
    if (wasCurrent && !this.closed) safely(() => this.onConnectionChange?.('lost', err.message));
    try {
      conn.raw.disconnect();
    } catch {
      // already gone
    }
    if (!this.closed && this.subs.size > 0) this.scheduleReconnect(0);
  }

  private scheduleReconnect(attempt: number): void {
    if (this.reconnectTimer || this.closed) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] ?? 2000;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed || this.subs.size === 0 || this.current?.alive) return;
      this.connection().catch(() => this.scheduleReconnect(attempt + 1));
    }, delay);
    this.reconnectTimer.unref();
  }
}

/** The bus daemon's match rule text for a signal subscription. */
export function matchRule(m: SignalMatch): string {
  const parts = [`type='signal'`, `sender='${m.sender}'`, `interface='${m.interface}'`, `member='${m.member}'`];
  if (m.path !== undefined) parts.push(`path='${m.path}'`);
  return parts.join(',');
}

function isConnectionFailure(err: unknown): boolean {
  return err instanceof RuntimeError && err.kind === 'Unavailable' && err.fields['dbusError'] === undefined;
}

function isClosedStreamError(err: unknown): boolean {
  return err instanceof Error && /stream is closed|closed stream|EPIPE|ECONNRESET/.test(err.message);
}

function encodeFailed(err: unknown, site: CallSite): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return internal(`${site.member}: cannot encode D-Bus call: ${reason}`, {
    cause: err,
    fields: { method: `${site.interface}.${site.member}`, path: site.path },
  });
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // a subscriber's bug must not break the bus
  }
}
