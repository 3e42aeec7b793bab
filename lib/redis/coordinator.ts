// One execution per key across processes and hosts, through Redis. Redis holds, per flight, a
// lease naming the process that runs the work; the others subscribe to the flight's channel,
// then look, and wait for the record the leader publishes. Redis is an efficiency lock here, not
// a correctness one: whatever goes wrong with it (down, slow, failed over, a lease lost), each
// process falls back to running its own work, and no caller is ever left waiting on Redis.
import { createHash, randomBytes } from 'node:crypto';
import type { CacheTier, CacheTierOptions, Coordinator, DistributedFlight } from '../distributed';
import { FlightTimeoutError } from '../errors';
import type { RedisAdapter } from './adapter';
import { RedisCacheTier } from './cache-tier';
import { Kind, type Outcome, type Records } from './record';
import { describe } from './describe';
import { ABANDON, FETCH, LOOK, RELEASE, RENEW, SETTLE, UNWAIT, type Script } from './scripts';

export interface CoordinatorSettings {
  adapter: RedisAdapter;
  records: Records;
  prefix: string;
  leaseMs: number;
  resultTtlMs: number;
  commandTimeoutMs: number;
  retryAfterMs: number;
  /** Called by close(), after the coordinator stopped listening. */
  onClose: () => Promise<void>;
}

/** What this process's coordinator did, since it was made. */
export interface CoordinatorStats {
  /** Flights whose work ran here, holding the lease (takeovers included). */
  led: number;
  /** Flights whose outcome came from another process. */
  received: number;
  /** Flights taken over from a leader whose lease lapsed. */
  tookOver: number;
  /** Flights whose work ran here without coordination, because Redis could not be used. */
  ranLocally: number;
  /** Outcomes that could not be published (codec failure, too large): waiters ran their own work. */
  unsendable: number;
  /** Records refused here (not signed with the secret, unreadable): this process ran its own work. */
  refused: number;
  /** Leases found taken over while the work was still running here. */
  lostLeases: number;
  /** Redis commands that failed or timed out. */
  redisErrors: number;
}

type Warning = 'THREADFLIGHT_REDIS_UNAVAILABLE' | 'THREADFLIGHT_REDIS_UNSENDABLE' | 'THREADFLIGHT_REDIS_REFUSED';

/** Records larger than this are stored but not published (a notice is): a subscriber's output
 * buffer on the server (32 MiB by default for pub/sub) must never have to hold them. */
const PUBLISH_LIMIT = 64 * 1024;

/** What close() and forget() need of a run that leads a flight here. */
interface Leader {
  readonly done: Promise<void>;
  renew(): Promise<void>;
  forsake(): void;
  matches(name: string, key: string | undefined): boolean;
}

/** How far two processes' estimates of the server's clock may differ (ms). */
const CLOCK_SLACK_MS = 1000;

/** How long after a lease's expiry a waiter looks again: the leader's renewal may be in transit. */
const LOOK_AGAIN_SLACK_MS = 25;

class TimeoutError extends Error {}

export class RedisCoordinator implements Coordinator {
  private readonly counts: CoordinatorStats = {
    led: 0,
    received: 0,
    tookOver: 0,
    ranLocally: 0,
    unsendable: 0,
    refused: 0,
    lostLeases: 0,
    redisErrors: 0,
  };
  private readonly warned = new Set<string>();
  private readonly channels: Channels;
  /** Until when (Date.now()) Redis is not tried after a failure. */
  private pausedUntil = 0;
  private readonly pending = new Set<Promise<void>>();
  /** Runs leading a flight here, until they have published (or let it go); the renewal tick
   * runs while there are any. */
  private readonly leaders = new Set<Leader>();
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly settings: CoordinatorSettings) {
    this.channels = new Channels(settings.adapter);
  }

  run<T>(flight: DistributedFlight<T>): Promise<T> {
    if (this.closed || Date.now() < this.pausedUntil) return this.runLocally(flight);
    return new FlightRun(this, flight).start();
  }

  stats(): CoordinatorStats {
    return { ...this.counts };
  }

  /** FlightCache's second tier: its entries in this Redis, shared by every process. */
  cacheTier(options: CacheTierOptions): CacheTier {
    return new RedisCacheTier(this, options);
  }

  /**
   * This process's flights of `name` (of `key`, if given) led here are let go in Redis: their
   * leases are given back, so the next caller in any process starts a new flight. Flights led by
   * other processes are not affected. Singleflight's forget() and clear() call it.
   */
  forget(name: string, key?: string): void {
    for (const run of this.leaders) if (run.matches(name, key)) run.forsake();
  }

  /** Stops using Redis (flights run locally from now on) and closes what the coordinator opened.
   * Flights still led here get up to leaseMs to publish; then their leases are given back. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.leaders.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.leaseMs)));
      await Promise.race([Promise.allSettled([...this.leaders].map((run) => run.done)), patience]);
      clearTimeout(timer);
      for (const run of this.leaders) run.forsake();
    }
    // Commands already sent (a lease given up as its callers left, a record being published)
    // finish first, with whatever they set off.
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    // Unsubscribing and quitting need Redis: with Redis down they give up after the timeout.
    await withTimeout(this.channels.close(), this.settings.commandTimeoutMs).catch(() => {});
    await this.settings.onClose();
  }

  // --- used by FlightRun --------------------------------------------------------------------

  /** A run leads a flight here: one renewal timer serves every lease held here. */
  leads(run: Leader): void {
    this.leaders.add(run);
    this.renewTimer ??= setInterval(
      () => {
        for (const leader of this.leaders) void leader.renew();
      },
      Math.max(1, Math.floor(this.settings.leaseMs / 3)),
    ).unref();
    void run.done.then(() => {
      this.leaders.delete(run);
      if (this.leaders.size > 0) return;
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    });
  }

  /**
   * Runs a script with the command timeout; a failure pauses coordination for retryAfterMs.
   * A command that timed out may still run on the server: `late` then gets its reply.
   */
  command(
    script: Script,
    keys: string[],
    args: Array<string | Buffer>,
    late?: (reply: unknown) => void,
  ): Promise<unknown> {
    const reply = attempt(() => this.settings.adapter.runScript(script, keys, args));
    const sent = withTimeout(reply, this.settings.commandTimeoutMs);
    if (late !== undefined) {
      sent.catch((error: unknown) => {
        if (error instanceof TimeoutError) reply.then(late, () => {});
      });
    }
    const tracked: Promise<void> = sent.then(
      () => {
        this.pending.delete(tracked);
      },
      (error: unknown) => {
        this.pending.delete(tracked);
        this.failed(error);
      },
    );
    this.pending.add(tracked);
    return sent;
  }

  failed(error: unknown): void {
    this.counts.redisErrors += 1;
    this.pausedUntil = Date.now() + this.settings.retryAfterMs;
    const why =
      error instanceof TimeoutError ? `no reply within ${this.settings.commandTimeoutMs} ms` : describe(error);
    this.warnOnce(
      'THREADFLIGHT_REDIS_UNAVAILABLE',
      '',
      `threadflight/redis: Redis cannot be used (${why}); each process runs its own work until it can ` +
        `(tried again after ${this.settings.retryAfterMs} ms). stats().redisErrors counts the failures.`,
    );
  }

  /** Whether Redis may be used now (not closed, not paused after a failure). */
  usable(): boolean {
    return !this.closed && Date.now() >= this.pausedUntil;
  }

  count(what: keyof CoordinatorStats): void {
    this.counts[what] += 1;
  }

  warnOnce(code: Warning, name: string, message: string): void {
    const id = `${code}\0${name}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    process.emitWarning(message, { code, type: 'ThreadflightWarning' });
  }

  listen(channel: string, listener: (message: Buffer) => void): Promise<void> {
    return withTimeout(this.channels.listen(channel, listener), this.settings.commandTimeoutMs).catch(
      (error: unknown) => {
        this.channels.unlisten(channel, listener);
        this.failed(error);
        throw error;
      },
    );
  }

  unlisten(channel: string, listener: (message: Buffer) => void): void {
    this.channels.unlisten(channel, listener);
  }

  runLocally<T>(flight: DistributedFlight<T>): Promise<T> {
    this.counts.ranLocally += 1;
    return attempt(() => flight.work(flight.signal));
  }
}

/** The keys of one flight: one hash tag (one Cluster slot); no user data in the names. */
class FlightKeys {
  readonly lease: string;
  readonly waiters: string;
  readonly channel: string;
  private readonly base: string;

  constructor(prefix: string, name: string, key: string) {
    // As UTF-16 code units, like the table compares keys: a lone surrogate stays itself.
    const digest = createHash('sha256')
      .update(`${name.length}:`)
      .update(Buffer.from(name, 'utf16le'))
      .update(':')
      .update(Buffer.from(key, 'utf16le'))
      .digest('base64url');
    this.base = `${prefix}:tf:{${digest}}`;
    this.lease = `${this.base}:lease`;
    this.waiters = `${this.base}:waiters`;
    this.channel = this.base;
  }

  done(token: string): string {
    return `${this.base}:done:${token}`;
  }
}

/** The flight this process waits for: its token and its start (server time, ms). */
interface Awaited {
  token: string;
  start: number;
}

type LookReply =
  | { kind: 'done'; record: Buffer; now: number }
  | { kind: 'lead' | 'expired'; start: number; now: number }
  | { kind: 'wait'; token: string; start: number; pttl: number; now: number };

const enum Phase {
  Looking,
  Waiting,
  Leading,
  Settled,
}

/** This process's part in one flight: look, then lead or wait, until it settles once. */
class FlightRun<T> {
  private readonly keys: FlightKeys;
  private readonly token = randomBytes(12).toString('base64url');
  private readonly waiterId = randomBytes(12).toString('base64url');
  private phase = Phase.Looking;
  private awaited: Awaited | undefined;
  private listening = false;
  private lookTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The lease's deadline (server ms; 0: none), while this run leads. */
  private deadline = 0;
  /** RENEW found the lease no longer this run's (taken over, or past the deadline). */
  private leaseGone = false;
  private work: AbortController | undefined;
  private abandonedHere = false;
  private readonly early: Buffer[] = [];
  /** The server's clock minus this host's, as of the last LOOK (ms). */
  private clockOffset = 0;
  /** Given up here by forget(), clear() or close(): never published. */
  private forsaken = false;
  /** SETTLE is on its way: the run is done when it is. */
  private publishing = false;
  private finished!: () => void;
  /** Settles when this run has nothing more to send about its flight. */
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));
  /** A LOOK's reply is on its way. */
  private looking = false;
  /** A LOOK registered this process as a waiter (a leader counts registrations). */
  private registered = false;
  private resolve!: (value: T) => void;
  private reject!: (error: unknown) => void;
  private readonly onMessage = (message: Buffer) => this.received(message);
  private readonly onAbort = () => this.abandon();

  constructor(
    private readonly coordinator: RedisCoordinator,
    private readonly flight: DistributedFlight<T>,
  ) {
    this.keys = new FlightKeys(coordinator.settings.prefix, flight.name, flight.key);
  }

  start(): Promise<T> {
    const settled = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.flight.signal.aborted) {
      this.reject(this.flight.signal.reason);
      return settled;
    }
    this.flight.signal.addEventListener('abort', this.onAbort, { once: true });
    this.firstLook().catch(() => this.fallBack());
    return settled;
  }

  // --- looking ------------------------------------------------------------------------------

  private async firstLook(): Promise<void> {
    const reply = await this.look(undefined);
    if (reply === undefined || this.cameTooLate(reply)) return;
    if (reply.kind !== 'wait') return this.follow(reply);
    this.registered = true;
    // Someone leads: listen first, then look again, so that no publication can fall between.
    this.listening = true;
    try {
      await this.coordinator.listen(this.keys.channel, this.onMessage);
    } catch {
      this.listening = false;
      return this.fallBack();
    }
    if (this.phase === Phase.Settled) return this.cleanUp();
    this.awaited = { token: reply.token, start: reply.start };
    const again = await this.look(this.awaited);
    if (again !== undefined && !this.cameTooLate(again)) this.follow(again);
  }

  /** The run settled (its callers left) while LOOK was on its way: undo what LOOK did. */
  private cameTooLate(reply: LookReply): boolean {
    if (this.phase !== Phase.Settled) return false;
    this.undo(reply);
    return true;
  }

  /** Gives back what a LOOK nobody follows took: a lease, or a waiter's registration. */
  private undo(reply: LookReply | undefined): void {
    if (reply?.kind === 'lead') this.coordinator.command(RELEASE, [this.keys.lease], [this.token]).catch(() => {});
    if (reply?.kind === 'wait') this.coordinator.command(UNWAIT, [this.keys.waiters], [this.waiterId]).catch(() => {});
  }

  /** Runs LOOK; undefined if Redis failed (the run then fell back). */
  private async look(awaited: Awaited | undefined): Promise<LookReply | undefined> {
    const settings = this.coordinator.settings;
    const maxDuration = this.flight.maxDuration === Infinity ? 0 : this.flight.maxDuration;
    let raw: unknown;
    this.looking = true;
    try {
      raw = await this.coordinator.command(
        LOOK,
        [this.keys.lease, this.keys.waiters, this.keys.done(awaited?.token ?? '')],
        [
          this.token,
          String(settings.leaseMs),
          String(maxDuration),
          this.waiterId,
          awaited === undefined ? '' : String(awaited.start),
          String(settings.leaseMs * 2),
        ],
        // Timed out here, yet run on the server: what it took is given back.
        (late) => this.undo(parseLook(late)),
      );
    } catch {
      this.fallBack();
      return undefined;
    } finally {
      this.looking = false;
    }
    const reply = parseLook(raw);
    if (reply === undefined) {
      this.coordinator.failed(new Error('an unexpected reply to a script (another server or adapter?)'));
      this.fallBack();
    } else {
      this.clockOffset = reply.now - Date.now();
    }
    return reply;
  }

  private follow(reply: LookReply): void {
    switch (reply.kind) {
      case 'done':
        return this.deliver(reply.record);
      case 'expired':
        return this.settle(false, new FlightTimeoutError(this.flight.key, this.flight.maxDuration));
      case 'lead':
        if (this.awaited !== undefined) this.coordinator.count('tookOver');
        return this.lead(reply.start, reply.now);
      case 'wait':
        return this.wait(reply);
    }
  }

  // --- waiting ------------------------------------------------------------------------------

  private wait(reply: Extract<LookReply, { kind: 'wait' }>): void {
    this.phase = Phase.Waiting;
    this.awaited = { token: reply.token, start: reply.start };
    this.armDeadline(reply.start, reply.now);
    clearTimeout(this.lookTimer);
    // When the lease would lapse, look again: the leader may have settled unheard, died, or
    // renewed; a lapsed lease is then taken over by exactly one waiter.
    const lapse = Math.min(Math.max(reply.pttl, 0), this.coordinator.settings.leaseMs) + LOOK_AGAIN_SLACK_MS;
    this.lookTimer = setTimeout(() => {
      this.lookAgain().catch(() => this.fallBack());
    }, lapse);
    const early = this.early.splice(0);
    for (const message of early) if (this.phase === Phase.Waiting) this.deliver(message, true);
  }

  private async lookAgain(): Promise<void> {
    if (this.phase !== Phase.Waiting) return;
    const reply = await this.look(this.awaited);
    if (reply !== undefined && !this.cameTooLate(reply)) this.follow(reply);
  }

  private received(message: Buffer): void {
    // Heard while a LOOK's reply is on its way (another connection): kept until it is here.
    if (this.looking) this.early.push(message);
    else if (this.phase === Phase.Waiting) this.deliver(message, true);
  }

  /** Delivers a record of the awaited flight; a record of another flight is ignored when heard
   * on the channel (it is an older or newer flight's). */
  private deliver(record: Buffer, heard = false, fetched = false): void {
    const { name, key } = this.flight;
    const settings = this.coordinator.settings;
    // Sealed during the awaited flight, and recently: an old record written back is refused.
    const notBefore = Math.max(
      (this.awaited?.start ?? 0) - CLOCK_SLACK_MS,
      Date.now() + this.clockOffset - settings.resultTtlMs - CLOCK_SLACK_MS,
    );
    let decoded = settings.records.decode({ name, key, token: this.awaited?.token ?? '' }, record, notBefore);
    if (fetched && !('outcome' in decoded) && !('refused' in decoded)) {
      decoded = { refused: 'the stored record is not an outcome' };
    }
    if (heard && 'refused' in decoded && decoded.refused === 'the record is for another flight') return;
    // The flight settled (a notice too: the record is stored): SETTLE dropped its waiters.
    this.registered = false;
    if ('refused' in decoded) {
      this.coordinator.count('refused');
      this.coordinator.warnOnce(
        'THREADFLIGHT_REDIS_REFUSED',
        name,
        `threadflight/redis: a record for "${name}" was refused (${decoded.refused}); this process runs ` +
          'its own work instead. stats().refused counts these. This warning is shown once per name.',
      );
      return this.fallBack();
    }
    if (!('outcome' in decoded)) {
      // Unsendable: run it here. A notice: the record is stored, too large to publish.
      if (decoded.kind === Kind.Notice) this.fetch().catch(() => this.fallBack());
      else this.fallBack();
      return;
    }
    this.coordinator.count('received');
    this.settle(decoded.kind === Kind.Value, decoded.outcome);
  }

  /** A large record was stored, not published: read it. */
  private async fetch(): Promise<void> {
    const token = this.awaited?.token ?? '';
    let record: unknown;
    try {
      record = await this.coordinator.command(FETCH, [this.keys.done(token)], []);
    } catch {
      return this.fallBack();
    }
    if (this.phase === Phase.Settled || this.phase === Phase.Leading || this.awaited?.token !== token) return;
    // Gone already (resultTtlMs passed): the flight is over, and this process missed it.
    if (record === null || record === undefined) return this.fallBack();
    this.deliver(record as Buffer, false, true);
  }

  // --- leading ------------------------------------------------------------------------------

  private lead(start: number, now: number): void {
    this.phase = Phase.Leading;
    this.registered = false; // LOOK removed this process from the waiters as it took the lease
    this.coordinator.count('led');
    this.stopListening();
    clearTimeout(this.lookTimer);
    this.armDeadline(start, now);
    const deadline = this.flight.maxDuration === Infinity ? 0 : start + this.flight.maxDuration;
    const controller = (this.work = new AbortController());
    this.deadline = deadline;
    this.coordinator.leads(this);
    attempt(() => this.flight.work(controller.signal)).then(
      (value) => this.publish({ kind: Kind.Value, value }),
      (error: unknown) => this.publish({ kind: Kind.Error, error }),
    );
  }

  /** Keeps the lease while the work runs; lets the work go when no caller anywhere waits. */
  async renew(): Promise<void> {
    if (this.phase !== Phase.Leading || this.publishing || this.forsaken || this.leaseGone) return;
    const deadline = this.deadline;
    let waiting: number;
    try {
      waiting = Number(
        await this.coordinator.command(
          RENEW,
          [this.keys.lease, this.keys.waiters],
          [this.token, String(this.coordinator.settings.leaseMs), String(deadline)],
        ),
      );
    } catch {
      return; // counted; the lease may lapse and be taken over, which is the safe outcome
    }
    if (this.phase !== Phase.Leading) return;
    if (waiting < 0) {
      if (this.leaseGone) return;
      this.leaseGone = true;
      if (waiting === -1) this.coordinator.count('lostLeases');
      // Nobody here waits for it either: the work serves no one.
      if (this.abandonedHere) this.giveUp();
      return; // finish for this process's callers; SETTLE will not publish over a newer flight
    }
    if (this.abandonedHere && waiting === 0) this.abandonIfAlone();
  }

  private publish(outcome: Outcome): void {
    if (this.phase !== Phase.Leading) return;
    const { name, key } = this.flight;
    const records = this.coordinator.settings.records;
    const id = { name, key, token: this.token, at: Date.now() + this.clockOffset };
    if (this.forsaken) {
      if (outcome.kind === Kind.Value) this.settle(true, outcome.value);
      else this.settle(false, outcome.error);
      return;
    }
    const { record, problem } = records.encode(id, outcome);
    if (problem !== undefined) {
      this.coordinator.count('unsendable');
      this.coordinator.warnOnce(
        'THREADFLIGHT_REDIS_UNSENDABLE',
        name,
        `threadflight/redis: an outcome for "${name}" cannot be sent to other processes (${problem}); ` +
          'they run their own work instead. stats().unsendable counts these. This warning is shown once per name.',
      );
    }
    // Sent before this process's callers are answered, not awaited: a next flight of the key
    // from here goes out on the same connection after it, so it finds this one settled. A
    // failure is counted (waiters then find the lease lapsed and take over); close() waits.
    this.publishing = true;
    this.coordinator
      .command(
        SETTLE,
        [this.keys.lease, this.keys.done(this.token), this.keys.waiters],
        [
          this.token,
          record,
          String(this.coordinator.settings.resultTtlMs),
          this.keys.channel,
          record.length > PUBLISH_LIMIT ? records.notice(id) : '',
        ],
      )
      .catch(() => {})
      .finally(this.finished);
    if (outcome.kind === Kind.Value) this.settle(true, outcome.value);
    else this.settle(false, outcome.error);
  }

  // --- leaving ------------------------------------------------------------------------------

  /** No caller in this process waits any more. */
  private abandon(): void {
    if (this.phase === Phase.Settled) return;
    // A waiter's registration is withdrawn as it settles (cleanUp); a LOOK still on its way
    // is undone when its reply comes (cameTooLate).
    if (this.phase !== Phase.Leading) return this.settle(false, this.flight.signal.reason);
    // The work may still serve other processes: let it go only when none waits for it.
    this.abandonedHere = true;
    this.abandonIfAlone();
  }

  /** Gives the lease and the work up, atomically, unless another process waits for them. */
  private abandonIfAlone(): void {
    this.coordinator.command(ABANDON, [this.keys.lease, this.keys.waiters], [this.token]).then(
      (waiting) => {
        if (Number(waiting) <= 0) this.giveUp();
      },
      () => this.giveUp(),
    );
  }

  private giveUp(): void {
    if (this.phase !== Phase.Leading) return;
    this.work?.abort(this.flight.signal.reason);
    this.settle(false, this.flight.signal.reason);
  }

  /** Lets the flight go in Redis (forget(), clear(), close()): the lease is given back, so the
   * next caller anywhere starts a new flight; the work still answers whoever joined it here. */
  forsake(): void {
    if (this.phase !== Phase.Leading || this.forsaken) return;
    this.forsaken = true;
    this.coordinator.command(RELEASE, [this.keys.lease], [this.token]).catch(() => {});
    this.finished(); // close() waits for the command itself
  }

  matches(name: string, key: string | undefined): boolean {
    return this.flight.name === name && (key === undefined || this.flight.key === key);
  }

  // --- ending -------------------------------------------------------------------------------

  /** Redis cannot be used for this flight (or its record cannot): the work runs here. */
  private fallBack(): void {
    if (this.phase === Phase.Settled || this.phase === Phase.Leading) return;
    this.cleanUp();
    this.phase = Phase.Settled;
    this.coordinator.runLocally(this.flight).then(this.resolve, this.reject);
  }

  private settle(ok: boolean, outcome: unknown): void {
    if (this.phase === Phase.Settled) return;
    if (!this.publishing) this.finished();
    this.phase = Phase.Settled;
    this.cleanUp();
    if (ok) this.resolve(outcome as T);
    else this.reject(outcome);
  }

  private cleanUp(): void {
    if (this.registered) {
      this.registered = false;
      this.coordinator.command(UNWAIT, [this.keys.waiters], [this.waiterId]).catch(() => {});
    }
    clearTimeout(this.lookTimer);
    clearTimeout(this.deadlineTimer);
    this.flight.signal.removeEventListener('abort', this.onAbort);
    this.stopListening();
  }

  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.coordinator.unlisten(this.keys.channel, this.onMessage);
  }

  /** One deadline for the flight in every process: its start, on the server's clock. */
  private armDeadline(start: number, now: number): void {
    if (this.flight.maxDuration === Infinity || this.deadlineTimer !== undefined) return;
    const left = Math.max(0, start + this.flight.maxDuration - now);
    this.deadlineTimer = setTimeout(() => {
      this.work?.abort(new FlightTimeoutError(this.flight.key, this.flight.maxDuration));
      this.settle(false, new FlightTimeoutError(this.flight.key, this.flight.maxDuration));
    }, left);
  }
}

/** The reply of LOOK, or undefined if it is not one (an adapter returning something else). */
function parseLook(raw: unknown): LookReply | undefined {
  if (!Array.isArray(raw) || raw.length < 2) return undefined;
  const reply = raw as Buffer[];
  const kind = String(reply[0]);
  if (kind === 'done') return { kind, record: reply[1], now: Number(String(reply[2])) };
  if (kind === 'wait') {
    const lease = String(reply[1]);
    const space = lease.indexOf(' ');
    return {
      kind,
      token: lease.slice(0, space),
      start: Number(lease.slice(space + 1)),
      pttl: Number(String(reply[2])),
      now: Number(String(reply[3])),
    };
  }
  if (kind === 'lead' || kind === 'expired') {
    return { kind, start: Number(String(reply[1])), now: Number(String(reply[2])) };
  }
  return undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`no reply within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Calls the user's work or an adapter function: whatever it throws, returns or resolves to
 * (a thenable, one with a throwing `then`) ends up as the returned promise's outcome. */
function attempt<T>(call: () => T | PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(call()));
}

/** Channel subscriptions shared by the flights of one coordinator, counted per channel. */
class Channels {
  private readonly listeners = new Map<string, Set<(message: Buffer) => void>>();
  private readonly subscribed = new Map<string, Promise<void>>();

  private readonly stopHearing: (() => void) | void;

  constructor(private readonly adapter: RedisAdapter) {
    this.stopHearing = adapter.onMessage((channel, message) => {
      for (const listener of this.listeners.get(channel) ?? []) {
        try {
          listener(message);
        } catch {
          // a record that cannot be handled is one not delivered; the client's event must not throw
        }
      }
    });
  }

  listen(channel: string, listener: (message: Buffer) => void): Promise<void> {
    let listeners = this.listeners.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(channel, listeners);
      const subscribed = attempt(() => this.adapter.subscribe(channel));
      subscribed.catch(() => {}); // its listeners hear of a failure; with none left, nobody need
      this.subscribed.set(channel, subscribed);
    }
    listeners.add(listener);
    return this.subscribed.get(channel) as Promise<void>;
  }

  unlisten(channel: string, listener: (message: Buffer) => void): void {
    const listeners = this.listeners.get(channel);
    if (listeners === undefined || !listeners.delete(listener) || listeners.size > 0) return;
    this.listeners.delete(channel);
    this.subscribed.delete(channel);
    attempt(() => this.adapter.unsubscribe(channel)).catch(() => {});
  }

  async close(): Promise<void> {
    const channels = [...this.listeners.keys()];
    this.listeners.clear();
    this.subscribed.clear();
    this.stopHearing?.();
    await Promise.allSettled(channels.map((channel) => attempt(() => this.adapter.unsubscribe(channel))));
  }
}
