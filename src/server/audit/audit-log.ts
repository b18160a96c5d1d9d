// The tamper-evident audit log: a MAC chain over every event, appends serialised across server instances, checkpoints outside the database.
import { Kysely, PostgresAdapter, sql } from 'kysely';
import { Secret } from '../../secret.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { canonicalDetails, eventMac, GENESIS_MAC, type CanonicalEventFields } from './audit-canonical.ts';
import { readCheckpoints, writeCheckpoint, type AuditCheckpoint } from './audit-checkpoints.ts';
import { AuditInputError } from './audit-errors.ts';

export type AuditOutcome = 'ok' | 'refused' | 'error';

/**
 * One event to record. `details` must never hold a secret (PIN, PUK, key, password) in any form: Secret
 * instances, raw bytes and secret-named fields are refused with ERR_AUDIT_SECRET_IN_DETAILS, but callers are
 * responsible for not passing secrets as ordinary text.
 */
export interface AuditEventInput {
  action: string;
  actor?: string;
  credentialId?: string;
  outcome: AuditOutcome;
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  at: string;
  action: string;
  actor: string | null;
  credentialId: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  details: Record<string, unknown> | null;
  prevMac: string;
  mac: string;
}

/**
 * What verification found wrong, at the first bad event:
 * - `edited`: the event's content no longer matches its MAC (the MAC itself is the one the next event links to);
 * - `removed`: events are missing (a gap in seq, or later events renumbered to hide one);
 * - `reordered`: a genuine event sits at another position than the one it was recorded at;
 * - `truncated`: fewer events than a checkpoint counted, or the chain no longer passes through a checkpoint's head;
 * - `forged`: a MAC that nothing vouches for (an inserted event, an edit with a recomputed MAC), or a checkpoint
 *   file that is not authentic.
 */
export type AuditTamperKind = 'edited' | 'removed' | 'reordered' | 'truncated' | 'forged';

export type AuditVerification =
  | { ok: true; count: number; headMac: string | null; checkpointsChecked: number }
  | { ok: false; count: number; kind: AuditTamperKind; seq: number; message: string };

export interface AuditExportFilter {
  credentialId?: string;
  actor?: string;
  action?: string;
  /** Inclusive lower bound on the event time (ISO-8601 or Date). */
  from?: string | Date;
  /** Exclusive upper bound on the event time. */
  to?: string | Date;
}

export type AuditExportFormat = 'jsonl' | 'csv';

export interface AuditLogOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the audit table is the log's own; it does not need the server's row types
  db: Kysely<any>;
  /** Detected from the Kysely dialect when omitted. */
  dialect?: 'sqlite' | 'postgres';
  /** The audit MAC key; or give `keyStore` and the key is taken from `keyStore.macKey('audit')`. */
  macKey?: Secret;
  keyStore?: Pick<KeyStore, 'macKey'>;
  /** Directory outside the database for checkpoint files (created when needed). */
  checkpointDir: string;
  /** Write a checkpoint whenever seq is a multiple of this (default 100). */
  checkpointEvery?: number;
  clock?: () => Date;
  /**
   * Called when a checkpoint file cannot be written after an event was committed. Without it, append() and
   * transaction() throw (ERR_AUDIT_CHECKPOINT) even though the event and the changes it records are committed; a
   * server passes its logger here instead.
   */
  onCheckpointError?: (error: Error) => void;
}

interface AuditEventRow {
  seq: number;
  at: string;
  action: string;
  actor: string | null;
  credential_id: string | null;
  outcome: string;
  reason: string | null;
  details: string | null;
  prev_mac: string;
  mac: string;
}

const TABLE = 'audit_events';
/** Key of the PostgreSQL advisory lock that serialises appends (the ASCII of "TESSAUDT"). */
const ADVISORY_LOCK_KEY = 0x5445535341554454n;
const PAGE = 1000;
/** How far from its position verification looks for where a moved event belongs. */
const REPOSITION_WINDOW = 64;
const OUTCOMES: readonly AuditOutcome[] = ['ok', 'refused', 'error'];

function fieldsOf(row: AuditEventRow, seq = row.seq): CanonicalEventFields {
  return { seq, at: row.at, action: row.action, actor: row.actor, credentialId: row.credential_id, outcome: row.outcome, reason: row.reason, details: row.details };
}

function eventOf(row: AuditEventRow): AuditEvent {
  return {
    seq: Number(row.seq),
    at: row.at,
    action: row.action,
    actor: row.actor,
    credentialId: row.credential_id,
    outcome: row.outcome as AuditOutcome,
    reason: row.reason,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    prevMac: row.prev_mac,
    mac: row.mac,
  };
}

function checkText(value: unknown, name: string, max: number, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw new AuditInputError(`audit event needs ${name}`);
    return null;
  }
  if (value instanceof Secret) throw new AuditInputError(`audit event ${name} must be text, never a secret`);
  if (typeof value !== 'string' || (required && value.length === 0) || value.length > max) {
    throw new AuditInputError(`audit event ${name} must be text of at most ${max} characters`);
  }
  return value;
}

function timeBound(value: string | Date | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new AuditInputError(`audit export ${name} is not a valid time`);
  return date.toISOString();
}

/** RFC 4180 quoting, and a leading apostrophe on cells a spreadsheet would run as a formula. */
function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** How long an SQLite appender keeps retrying for the write lock before giving up. */
const SQLITE_LOCK_PATIENCE_MS = 15_000;

/**
 * Runs `work` between BEGIN IMMEDIATE and COMMIT on one SQLite connection. Kysely's own transactions begin DEFERRED,
 * which lets two processes both read the chain head and then fail at their first write. BEGIN IMMEDIATE is retried
 * asynchronously on SQLITE_BUSY: better-sqlite3 waits synchronously (busy_timeout), which would stall the very event
 * loop that must finish the other writer's transaction when both are in one process.
 */
async function immediateTransaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return await db.connection().execute(async (connection) => {
    const deadline = Date.now() + SQLITE_LOCK_PATIENCE_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await sql`BEGIN IMMEDIATE`.execute(connection);
        break;
      } catch (error) {
        const busy = (error as { code?: string }).code === 'SQLITE_BUSY';
        if (!busy || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, 1 + attempt) * (0.5 + Math.random())));
      }
    }
    try {
      const result = await work(connection);
      await sql`COMMIT`.execute(connection);
      return result;
    } catch (error) {
      await sql`ROLLBACK`.execute(connection).catch(() => undefined);
      throw error;
    }
  });
}

const CSV_COLUMNS = ['seq', 'at', 'action', 'actor', 'credentialId', 'outcome', 'reason', 'details', 'prevMac', 'mac'] as const;

export class AuditLog {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see AuditLogOptions.db
  readonly #db: Kysely<any>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #checkpointDir: string;
  readonly #checkpointEvery: number;
  readonly #clock: () => Date;
  readonly #onCheckpointError: ((error: Error) => void) | undefined;
  #key: Promise<Uint8Array>;

  constructor(options: AuditLogOptions) {
    this.#db = options.db;
    this.#dialect = options.dialect ?? (options.db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');
    this.#checkpointDir = options.checkpointDir;
    this.#checkpointEvery = options.checkpointEvery ?? 100;
    if (!Number.isInteger(this.#checkpointEvery) || this.#checkpointEvery < 1) throw new AuditInputError('checkpointEvery must be a positive integer');
    this.#clock = options.clock ?? (() => new Date());
    this.#onCheckpointError = options.onCheckpointError;
    if (options.macKey instanceof Secret) {
      if (options.macKey.length < 32) throw new AuditInputError('the audit MAC key must be at least 32 bytes');
      this.#key = Promise.resolve(options.macKey.expose());
    } else if (options.keyStore !== undefined) {
      const keyStore = options.keyStore;
      this.#key = keyStore.macKey('audit').then((secret) => secret.expose());
      // Surface the failure at first use, not as an unhandled rejection now.
      this.#key.catch(() => undefined);
    } else {
      throw new AuditInputError('an AuditLog needs macKey or keyStore');
    }
  }

  /**
   * Appends one event in a transaction of its own; serialised with every other appender on the same database. For
   * an event that records a state change, use `transaction` (or `appendWithin`) so the two commit together.
   */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    return await this.transaction(this.#db, async (_trx, append) => append(input));
  }

  /**
   * Runs `work` in one write transaction on `db` (the database this log lives in) and hands it `append`: every event
   * appended that way commits or rolls back with the changes `work` makes, and due checkpoints are written only after
   * the commit, so a checkpoint never names an event that was rolled back. On SQLite the transaction begins with
   * BEGIN IMMEDIATE (the write lock is taken before anything is read, retried asynchronously while another process
   * holds it); on PostgreSQL each append takes the chain's advisory lock inside the transaction, held until it ends,
   * so append last, after the changes (see `appendWithin`).
   */
  async transaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>, append: (input: AuditEventInput) => Promise<AuditEvent>) => Promise<T>): Promise<T> {
    const appended: AuditEvent[] = [];
    const run = async (trx: Kysely<DB>): Promise<T> =>
      await work(trx, async (input) => {
        const event = await this.appendWithin(trx, input);
        appended.push(event);
        return event;
      });
    // READ COMMITTED named explicitly (a server may default to another level): each append must read the head as
    // committed after its advisory lock was granted, not as of the transaction's first statement.
    const result = this.#dialect === 'postgres' ? await db.transaction().setIsolationLevel('read committed').execute(run) : await immediateTransaction(db, run);
    await this.writeDueCheckpoints(appended);
    return result;
  }

  /**
   * Appends one event inside the caller's open transaction `trx` (on the log's database), so it commits or rolls back
   * with it. The caller must then pass the returned event to `writeDueCheckpoints` once the transaction has committed.
   * - PostgreSQL: takes the chain's transaction-scoped advisory lock, so every instance on the database waits here
   *   until the previous appender's transaction ends; the transaction must be READ COMMITTED (the default) so the
   *   head is read after the lock is granted. Append as the transaction's last write: waiting for a row lock while
   *   holding the chain lock would stall every appender.
   * - SQLite: `trx` must hold the write lock from its start (BEGIN IMMEDIATE, as `transaction` does): after a plain
   *   deferred BEGIN whose first statement reads, another process may commit first and this transaction then fails
   *   with SQLITE_BUSY when it writes (the chain cannot fork: SQLite serialises writers and the table refuses a
   *   second successor of one event, but the change would be lost to an error).
   */
  async appendWithin<DB>(trx: Kysely<DB>, input: AuditEventInput): Promise<AuditEvent> {
    if (input === null || typeof input !== 'object') throw new AuditInputError('an audit event is required');
    const action = checkText(input.action, 'action', 128, true)!;
    const actor = checkText(input.actor, 'actor', 128, false);
    const credentialId = checkText(input.credentialId, 'credentialId', 64, false);
    const reason = checkText(input.reason, 'reason', 2048, false);
    if (!OUTCOMES.includes(input.outcome)) throw new AuditInputError('audit event outcome must be ok, refused or error');
    const details = canonicalDetails(input.details);
    const key = await this.#key;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the audit table is the log's own, whatever the caller's schema
    const db = trx as unknown as Kysely<any>;
    if (this.#dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY.toString()}::bigint)`.execute(db);
    const last = (await db.selectFrom(TABLE).select(['seq', 'mac']).orderBy('seq', 'desc').limit(1).executeTakeFirst()) as Pick<AuditEventRow, 'seq' | 'mac'> | undefined;
    const seq = last === undefined ? 1 : Number(last.seq) + 1;
    const prevMac = last === undefined ? GENESIS_MAC : last.mac;
    const fields: CanonicalEventFields = { seq, at: this.#clock().toISOString(), action, actor, credentialId, outcome: input.outcome, reason, details };
    const row: AuditEventRow = { seq, at: fields.at, action, actor, credential_id: credentialId, outcome: input.outcome, reason, details, prev_mac: prevMac, mac: eventMac(key, prevMac, fields) };
    await db.insertInto(TABLE).values(row).execute();
    return eventOf(row);
  }

  /** After the transaction holding `events` committed: writes the checkpoints that fall due at them (every `checkpointEvery`). */
  async writeDueCheckpoints(events: readonly AuditEvent[]): Promise<void> {
    const due = events.filter((event) => event.seq % this.#checkpointEvery === 0);
    if (due.length === 0) return;
    const key = await this.#key;
    for (const event of due) {
      try {
        await writeCheckpoint(this.#checkpointDir, key, { seq: event.seq, headMac: event.mac, at: event.at });
      } catch (error) {
        if (this.#onCheckpointError === undefined) throw error;
        this.#onCheckpointError(error as Error);
      }
    }
  }

  /** Writes a checkpoint of the current head now (also done every `checkpointEvery` events); none for an empty log. */
  async checkpoint(): Promise<AuditCheckpoint | null> {
    const key = await this.#key;
    const head = (await this.#db.selectFrom(TABLE).select(['seq', 'mac', 'at']).orderBy('seq', 'desc').limit(1).executeTakeFirst()) as Pick<AuditEventRow, 'seq' | 'mac' | 'at'> | undefined;
    if (head === undefined) return null;
    const checkpoint = { seq: Number(head.seq), headMac: head.mac, at: this.#clock().toISOString() };
    await writeCheckpoint(this.#checkpointDir, key, checkpoint);
    return checkpoint;
  }

  /** Walks the whole chain and the checkpoints; names the first bad event and what was done to it. */
  async verify(): Promise<AuditVerification> {
    const key = await this.#key;
    // Checkpoints first: each was written after its event committed, so the walk below must find all of them.
    const { checkpoints, invalid } = await readCheckpoints(this.#checkpointDir, key);
    const bySeq = new Map(checkpoints.map((c) => [c.seq, c]));
    let count = 0;
    let prevMac = GENESIS_MAC;
    let expected = 1;
    const fail = (kind: AuditTamperKind, seq: number, message: string): AuditVerification => ({ ok: false, count, kind, seq, message });

    if (invalid.length > 0) {
      const seq = Number(/(\d{12})/.exec(invalid[0]!)?.[1] ?? 0);
      return fail('forged', seq, `checkpoint file ${invalid[0]} is not authentic`);
    }

    let page = await this.#page(0);
    while (page.length > 0) {
      for (let i = 0; i < page.length; i++) {
        const row = page[i]!;
        row.seq = Number(row.seq);
        if (row.seq !== expected) return fail('removed', expected, `event ${expected} is missing (the next one is ${row.seq})`);
        const genuine = eventMac(key, row.prev_mac, fieldsOf(row)) === row.mac;
        if (!genuine || row.prev_mac !== prevMac) {
          const next = page[i + 1] ?? (await this.#page(row.seq))[0];
          return await this.#classify(key, row, prevMac, genuine, next, bySeq, count);
        }
        const checkpoint = bySeq.get(row.seq);
        if (checkpoint !== undefined && checkpoint.headMac !== row.mac) {
          return fail('truncated', row.seq, `the chain no longer passes through the checkpoint of event ${row.seq} (${checkpoint.at}): events up to it were replaced`);
        }
        prevMac = row.mac;
        expected += 1;
        count += 1;
      }
      page = await this.#page(page[page.length - 1]!.seq);
    }
    const latest = checkpoints.reduce<AuditCheckpoint | undefined>((a, c) => (a === undefined || c.seq > a.seq ? c : a), undefined);
    if (latest !== undefined && latest.seq > count) {
      return fail('truncated', count + 1, `the log has ${count} events but the checkpoint of ${latest.at} counted ${latest.seq}`);
    }
    return { ok: true, count, headMac: count === 0 ? null : prevMac, checkpointsChecked: checkpoints.length };
  }

  /** Exports matching events in seq order as JSON lines or CSV (with a header row). */
  async export(filter: AuditExportFilter = {}, format: AuditExportFormat = 'jsonl'): Promise<string> {
    const parts: string[] = [];
    for await (const chunk of this.exportChunks(filter, format)) parts.push(chunk);
    return parts.join('');
  }

  /** The same export as text chunks, a page at a time, for streaming to a file or an HTTP answer. */
  async *exportChunks(filter: AuditExportFilter = {}, format: AuditExportFormat = 'jsonl'): AsyncGenerator<string> {
    if (format !== 'jsonl' && format !== 'csv') throw new AuditInputError('audit export format must be jsonl or csv');
    const from = timeBound(filter.from, 'from');
    const to = timeBound(filter.to, 'to');
    for (const [name, value] of [['credentialId', filter.credentialId], ['actor', filter.actor], ['action', filter.action]] as const) {
      if (value !== undefined && typeof value !== 'string') throw new AuditInputError(`audit export filter ${name} must be text`);
    }
    if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
    let after = 0;
    for (;;) {
      let query = this.#db.selectFrom(TABLE).selectAll().where('seq', '>', after);
      if (filter.credentialId !== undefined) query = query.where('credential_id', '=', filter.credentialId);
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      if (from !== undefined) query = query.where('at', '>=', from);
      if (to !== undefined) query = query.where('at', '<', to);
      const rows = (await query.orderBy('seq').limit(PAGE).execute()) as AuditEventRow[];
      if (rows.length === 0) return;
      const events = rows.map(eventOf);
      yield format === 'jsonl'
        ? events.map((e) => `${JSON.stringify(e)}\n`).join('')
        : events.map((e) => `${CSV_COLUMNS.map((c) => csvCell(e[c])).join(',')}\r\n`).join('');
      after = events[events.length - 1]!.seq;
    }
  }

  async #page(afterSeq: number): Promise<AuditEventRow[]> {
    return (await this.#db.selectFrom(TABLE).selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(PAGE).execute()) as AuditEventRow[];
  }

  /** Says what happened to the first event that failed its MAC or its link. */
  async #classify(
    key: Uint8Array,
    row: AuditEventRow,
    prevMac: string,
    genuine: boolean,
    next: AuditEventRow | undefined,
    checkpoints: Map<number, AuditCheckpoint>,
    count: number,
  ): Promise<AuditVerification> {
    const fail = (kind: AuditTamperKind, seq: number, message: string): AuditVerification => ({ ok: false, count, kind, seq, message });
    const predecessorExists = async (): Promise<boolean> =>
      row.prev_mac === GENESIS_MAC || (await this.#db.selectFrom(TABLE).select('seq').where('mac', '=', row.prev_mac).executeTakeFirst()) !== undefined;

    if (!genuine) {
      // A genuine event moved to another seq verifies under the seq it was recorded at.
      for (let delta = 1; delta <= REPOSITION_WINDOW; delta++) {
        for (const original of [row.seq + delta, row.seq - delta]) {
          if (original < 1 || eventMac(key, row.prev_mac, fieldsOf(row, original)) !== row.mac) continue;
          if (original > row.seq && !(await predecessorExists())) {
            return fail('removed', row.seq, `event ${row.seq} was recorded as event ${original}: ${original - row.seq} event(s) before it were removed and the rest renumbered`);
          }
          return fail('reordered', row.seq, `event ${row.seq} was recorded as event ${original}: events were reordered`);
        }
      }
      const vouched = next !== undefined ? Number(next.seq) === row.seq + 1 && next.prev_mac === row.mac : checkpoints.get(row.seq)?.headMac === row.mac;
      return vouched
        ? fail('edited', row.seq, `event ${row.seq} was edited: its content does not match its MAC`)
        : fail('forged', row.seq, `event ${row.seq} has a MAC the chain does not vouch for (inserted, or edited with a forged MAC)`);
    }
    // Genuine at its own seq, but it links to another predecessor than the event before it.
    if (prevMac !== GENESIS_MAC && row.prev_mac !== GENESIS_MAC && !(await predecessorExists())) {
      return fail('removed', row.seq - 1, `event ${row.seq - 1} is not the one event ${row.seq} was chained to: the original was removed`);
    }
    return fail('reordered', row.seq - 1, `event ${row.seq - 1} is not the one event ${row.seq} was chained to: events were reordered`);
  }
}
