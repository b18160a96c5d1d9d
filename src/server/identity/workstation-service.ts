// Workstations enrolled for credential-provider mode, and the check that turns a claimed mode into a proven one.
import { createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { ConflictError, InvalidRequestError, NotFoundError } from '../api-errors.ts';
import { audited, isoNow, type Actor, type ServiceContext } from '../services/service-context.ts';
import { identityDb, type WorkstationRow } from './identity-schema.ts';
import { CP_HEADERS, CREDENTIAL_PROVIDER_MODE, credentialProviderMessage } from './workstation-signature.ts';

/** How far a request's timestamp may be from the server's clock; nonces are remembered for twice as long. */
export const CP_SIGNATURE_WINDOW_SECONDS = 120;

export interface Workstation {
  id: string;
  name: string;
  status: 'active' | 'revoked';
  enrolledBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export const CP_DOWNGRADE_REASONS = [
  'NOT_CLAIMED',
  'HEADERS_MALFORMED',
  'WORKSTATION_UNKNOWN',
  'WORKSTATION_REVOKED',
  'TIMESTAMP_OUT_OF_WINDOW',
  'SIGNATURE_INVALID',
  'NONCE_REPLAYED',
] as const;
export type CpDowngradeReason = (typeof CP_DOWNGRADE_REASONS)[number];

export type ClientMode =
  | { mode: 'credential-provider'; workstationId: string; workstationName: string }
  | { mode: 'user-app'; claimedCredentialProvider: boolean; downgradeReason: CpDowngradeReason };

export interface RequestToVerify {
  method: string;
  /** Path and query string as received. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

function workstationFromRow(row: WorkstationRow): Workstation {
  return { id: row.id, name: row.name, status: row.status as Workstation['status'], enrolledBy: row.enrolled_by, createdAt: row.created_at, revokedAt: row.revoked_at };
}

function header(headers: RequestToVerify['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

export class WorkstationService {
  constructor(private readonly context: ServiceContext) {}

  async enrol(actor: Actor, name: string, publicKeyPem: string): Promise<Workstation> {
    let key: KeyObject;
    try {
      key = createPublicKey(publicKeyPem);
    } catch (error) {
      throw new InvalidRequestError('ERR_WORKSTATION_KEY_INVALID', 'publicKey is not a PEM public key', { cause: error });
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new InvalidRequestError('ERR_WORKSTATION_KEY_TYPE', 'a workstation key must be ECC P-256');
    }
    const spki = key.export({ format: 'der', type: 'spki' }).toString('base64');
    const row: WorkstationRow = { id: randomUUID(), name, public_key_spki: spki, status: 'active', enrolled_by: actor.operatorName, created_at: isoNow(this.context), revoked_at: null };
    return await audited(this.context, undefined, async ({ db, audit }) => {
      const inserted = await identityDb(db).insertInto('workstations').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows !== 1n) throw new ConflictError('ERR_WORKSTATION_EXISTS', 'a workstation with this name is enrolled already');
      await audit({ action: 'identity.workstation.enrol', actor: actor.operatorName, outcome: 'ok', details: { workstationId: row.id, name } });
      return workstationFromRow(row);
    });
  }

  async list(): Promise<Workstation[]> {
    return (await identityDb(this.context.db).selectFrom('workstations').selectAll().orderBy('name').execute()).map(workstationFromRow);
  }

  async revoke(actor: Actor, id: string): Promise<Workstation> {
    return await audited(this.context, undefined, async ({ db, audit }) => {
      const idb = identityDb(db);
      const row = await idb.selectFrom('workstations').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new NotFoundError('ERR_WORKSTATION_NOT_FOUND', 'no such workstation');
      if (row.status === 'revoked') throw new ConflictError('ERR_WORKSTATION_REVOKED', 'the workstation is revoked already');
      const now = isoNow(this.context);
      await idb.updateTable('workstations').set({ status: 'revoked', revoked_at: now }).where('id', '=', id).execute();
      await audit({ action: 'identity.workstation.revoke', actor: actor.operatorName, outcome: 'ok', details: { workstationId: id, name: row.name } });
      return workstationFromRow({ ...row, status: 'revoked', revoked_at: now });
    });
  }

  async activeCount(): Promise<number> {
    const row = await identityDb(this.context.db).selectFrom('workstations').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'active').executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Credential-provider mode only with a fresh, valid signature from an enrolled, active workstation; anything
   * else is the user application (the caller audits the reason). The nonce is spent only once the signature holds.
   */
  async clientMode(request: RequestToVerify): Promise<ClientMode> {
    const downgrade = (downgradeReason: CpDowngradeReason, claimed = true): ClientMode => ({ mode: 'user-app', claimedCredentialProvider: claimed, downgradeReason });
    if (header(request.headers, CP_HEADERS.mode) !== CREDENTIAL_PROVIDER_MODE) return downgrade('NOT_CLAIMED', false);
    const workstationId = header(request.headers, CP_HEADERS.workstation);
    const timestamp = header(request.headers, CP_HEADERS.timestamp);
    const nonce = header(request.headers, CP_HEADERS.nonce);
    const signature = header(request.headers, CP_HEADERS.signature);
    if (
      workstationId === undefined || !/^[0-9a-f-]{36}$/.test(workstationId) ||
      timestamp === undefined || !/^\d{1,16}$/.test(timestamp) ||
      nonce === undefined || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) ||
      signature === undefined || !/^[A-Za-z0-9+/=]{16,200}$/.test(signature)
    ) {
      return downgrade('HEADERS_MALFORMED');
    }
    const idb = identityDb(this.context.db);
    const row = await idb.selectFrom('workstations').selectAll().where('id', '=', workstationId).executeTakeFirst();
    if (row === undefined) return downgrade('WORKSTATION_UNKNOWN');
    if (row.status !== 'active') return downgrade('WORKSTATION_REVOKED');
    const now = this.context.clock().getTime();
    if (Math.abs(now - Number(timestamp)) > CP_SIGNATURE_WINDOW_SECONDS * 1000) return downgrade('TIMESTAMP_OUT_OF_WINDOW');
    const key = createPublicKey({ key: Buffer.from(row.public_key_spki, 'base64'), format: 'der', type: 'spki' });
    let valid = false;
    try {
      valid = verify('sha256', credentialProviderMessage({ method: request.method, path: request.path, timestamp, nonce, body: request.body }), { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) return downgrade('SIGNATURE_INVALID');
    await idb.deleteFrom('workstation_nonces').where('expires_at', '<', isoNow(this.context)).execute();
    const spent = await idb
      .insertInto('workstation_nonces')
      .values({ workstation_id: workstationId, nonce, expires_at: isoNow(this.context, 2 * CP_SIGNATURE_WINDOW_SECONDS) })
      .onConflict((oc) => oc.columns(['workstation_id', 'nonce']).doNothing())
      .executeTakeFirst();
    if (spent.numInsertedOrUpdatedRows !== 1n) return downgrade('NONCE_REPLAYED');
    return { mode: 'credential-provider', workstationId, workstationName: row.name };
  }
}
