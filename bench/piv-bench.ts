// Benchmark piece: PivSession against the in-process virtual PIV card (APDU rate, APDUs per operation).
import { performance } from 'node:perf_hooks';
import { Secret } from '../src/secret.ts';
import { CountingTransport } from './counting-transport.ts';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIV_ALGORITHM, PIV_SLOT } from '../src/card/piv/piv-constants.ts';
import { PivSession } from '../src/card/piv/piv-session.ts';
import { MemoryStateStore } from '../src/virtual-card/card-state-store.ts';
import { InProcessTransport } from '../src/virtual-card/in-process-transport.ts';
import { VirtualPivCard } from '../src/virtual-card/piv/virtual-piv-card.ts';

export interface RateResult {
  workload: string;
  apdus: number;
  seconds: number;
  apdusPerSecond: number;
}

async function freshSession(): Promise<{ session: PivSession; transport: CountingTransport }> {
  const card = VirtualPivCard.create(new MemoryStateStore(), { serial: 1 });
  const transport = new CountingTransport(new InProcessTransport(card));
  return { session: await PivSession.open(transport), transport };
}

async function measure(workload: string, seconds: number, step: (session: PivSession) => Promise<unknown>): Promise<RateResult> {
  const { session, transport } = await freshSession();
  for (let i = 0; i < 200; i++) await step(session); // warm-up
  transport.count = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) await step(session);
  }
  const elapsed = (performance.now() - start) / 1000;
  return { workload, apdus: transport.count, seconds: elapsed, apdusPerSecond: transport.count / elapsed };
}

/** APDU rate of typical exchanges: metadata reads, PIN verification, a certificate read (GET RESPONSE chain). */
export async function measurePivApduRates(seconds = 2): Promise<RateResult[]> {
  const pin = Secret.fromText('123456');
  return [
    await measure('GET METADATA (PIN tries)', seconds, (s) => s.getPinTriesLeft()),
    await measure('VERIFY PIN (right PIN)', seconds, (s) => s.verifyPin(pin)),
    await measure('GET SERIAL', seconds, (s) => s.getSerial()),
  ];
}

/** APDUs each PivSession operation sends (including GET RESPONSE and chaining). */
export async function countPivOperationApdus(): Promise<{ operation: string; apdus: number }[]> {
  const { session, transport } = await freshSession();
  const results: { operation: string; apdus: number }[] = [];
  const count = async (operation: string, run: () => Promise<unknown>) => {
    const before = transport.count;
    await run();
    results.push({ operation, apdus: transport.count - before });
  };
  const key = Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX);
  const card = VirtualPivCard.create(new MemoryStateStore(), { serial: 2 });
  const opening = new CountingTransport(new InProcessTransport(card));
  await PivSession.open(opening);
  results.push({ operation: 'open (SELECT + GET VERSION)', apdus: opening.count });
  await count('getSerial', () => session.getSerial());
  await count('getPinTriesLeft', () => session.getPinTriesLeft());
  await count('getPukTriesLeft', () => session.getPukTriesLeft());
  await count('verifyPin', () => session.verifyPin(Secret.fromText('123456')));
  await count('changePin', () => session.changePin(Secret.fromText('123456'), Secret.fromText('654321')));
  await count('changePuk', () => session.changePuk(Secret.fromText('12345678'), Secret.fromText('87654321')));
  await count('unblockPin', () => session.unblockPin(Secret.fromText('87654321'), Secret.fromText('123456')));
  await count('authenticate (mutual, 3DES)', () => session.authenticate(PIV_ALGORITHM.TDES, key));
  await count('putChuid', () => session.putChuid());
  await count('getCardIdentifier', () => session.getCardIdentifier());
  await count('generateKey 9E ECC P-256', () => session.generateKey(PIV_SLOT.CARD_AUTHENTICATION, PIV_ALGORITHM.ECC_P256));
  await count('sign 9E ECC P-256', () => session.sign(PIV_SLOT.CARD_AUTHENTICATION, PIV_ALGORITHM.ECC_P256, new Uint8Array(32).fill(1)));
  await count('generateKey 9A RSA 2048', () => session.generateKey(PIV_SLOT.AUTHENTICATION, PIV_ALGORITHM.RSA_2048));
  await session.verifyPin(Secret.fromText('123456'));
  await count('sign 9A RSA 2048', () => session.sign(PIV_SLOT.AUTHENTICATION, PIV_ALGORITHM.RSA_2048, Uint8Array.of(0, 1, ...new Uint8Array(254).fill(0x33))));
  await count('putCertificate (1,200 bytes)', () => session.putCertificate(PIV_SLOT.AUTHENTICATION, new Uint8Array(1200).fill(0x30)));
  await count('getCertificate (1,200 bytes)', () => session.getCertificate(PIV_SLOT.AUTHENTICATION));
  await count('setManagementKey (AES-192)', () => session.setManagementKey(PIV_ALGORITHM.AES_192, Secret.fromHex('11'.repeat(24))));
  await count('setPinRetries', () => session.setPinRetries(5, 5));
  return results;
}
