// Property test of the virtual GIDS card: ≥ 20,000 random and mutated APDUs never make it throw, raise tries, leak secrets or break its state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adminKeyEncrypt } from '../../card/gids/gids-admin-crypto.ts';
import { GidsSession } from '../../card/gids/gids-session.ts';
import { Secret } from '../../secret.ts';
import { MemoryStateStore } from '../card-state-store.ts';
import { InProcessTransport } from '../in-process-transport.ts';
import { parseGidsCardState, serialiseGidsCardState } from './gids-card-state.ts';
import { VirtualGidsCard } from './virtual-gids-card.ts';

const PIN = '73915268';
const ADMIN_KEY = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const pinHex = Buffer.from(PIN, 'latin1').toString('hex');

/** Well-formed commands of every instruction the card knows; mutations of them reach deep into each handler. */
const TEMPLATES = [
  '00A4040009A0000003974254465900',
  '00A4000C023FFF',
  '00A4000402A010',
  '00CB3FFF045C027F7100',
  '00CBA000045C02DF1F00',
  '00CBA010045C0000',
  '00CB3FFF0A7008840180A5037F498000',
  '00DBA01009DF2206000000000001',
  '00DBA01003DF2300',
  `002000800${(PIN.length).toString(16)}${pinHex}`,
  '002000800431323334',
  '00200082',
  `002400800C${pinHex}35363738`,
  '0024018004 35363738'.replace(' ', ''),
  '002C02800435363738',
  '0022C1A403830180',
  '002241B606800107840181',
  '00870000047C02810000',
  '00870000147C1281100102030405060708090A0B0C0D0E0F1000',
  '008700000C7C0A82080102030405060708',
  '00E000000E620C8201398302A0208C03033000',
  '00E000001C621A8201188302B0818C04870020FFA50BA409800102830181 9501C0'.replace(' ', ''),
  '00440000',
  '00E40000',
  '002A9E9A0401020304',
  '00470000 08 AC06800107830181'.replace(/ /g, ''),
  '00C0000000',
  '10DBA01002DF22',
].map(bytes);

type Action =
  | { kind: 'random'; apdu: Uint8Array }
  | { kind: 'mutated'; template: number; flips: { at: number; xor: number }[]; cut: number; extra: Uint8Array }
  | { kind: 'verify-pin' }
  | { kind: 'admin-auth' }
  | { kind: 'reset' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((apdu) => ({ kind: 'random' as const, apdu })) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      template: fc.nat({ max: TEMPLATES.length - 1 }),
      flips: fc.array(fc.record({ at: fc.nat({ max: 60 }), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 3 }),
      cut: fc.nat({ max: 4 }),
      extra: fc.uint8Array({ maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'verify-pin' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'admin-auth' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

function mutate(template: Uint8Array, flips: { at: number; xor: number }[], cut: number, extra: Uint8Array): Uint8Array {
  const out = Uint8Array.from(template);
  for (const { at, xor } of flips) if (at < out.length) out[at]! ^= xor;
  const kept = out.subarray(0, Math.max(0, out.length - cut));
  return Uint8Array.from([...kept, ...extra]);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function initialisedStateText(): Promise<string> {
  const store = new MemoryStateStore();
  const card = VirtualGidsCard.createBlank(store, { serial: 40_000_004 });
  const session = await GidsSession.open(new InProcessTransport(card));
  await session.initialise({ pin: Secret.fromText(PIN), adminKey: Secret.fromBytes(ADMIN_KEY) });
  return store.load()!;
}

describe('VirtualGidsCard under random and mutated APDUs', () => {
  it('never throws, never raises tries without success, never answers with a secret, and keeps a loadable state', async () => {
    const initialised = await initialisedStateText();
    const blank = new MemoryStateStore();
    VirtualGidsCard.createBlank(blank, { serial: 40_000_005 });
    const blankText = blank.load()!;
    let apdus = 0;
    const seen = { triesSpent: 0, triesRestored: 0, adminAuthenticated: 0, success: 0 };

    fc.assert(
      fc.property(fc.boolean(), fc.array(action, { minLength: 80, maxLength: 140 }), (startBlank, actions) => {
        const store = new MemoryStateStore(startBlank ? blankText : initialised);
        const card = VirtualGidsCard.open(store);
        const tries = () => parseGidsCardState(store.load()!, 'state').pin.triesLeft;

        const transmit = (apdu: Uint8Array): Uint8Array => {
          const before = tries();
          let response: Uint8Array;
          try {
            response = card.process(apdu);
          } catch (error) {
            throw new TypeError(`process threw on ${Buffer.from(apdu).toString('hex')}: ${String(error)}`);
          }
          apdus++;
          expect(response.length).toBeGreaterThanOrEqual(2);
          const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
          const after = tries();
          if (sw === 0x9000) seen.success++;
          if (after < before) seen.triesSpent++;
          if (after > before) {
            seen.triesRestored++;
            // Only a successful PIN operation or unblock may give tries back.
            expect(sw).toBe(0x9000);
            expect([0x20, 0x24, 0x2c]).toContain(apdu[1]);
          }
          expect(contains(response, ADMIN_KEY.subarray(0, 8))).toBe(false);
          expect(contains(response, bytes(pinHex))).toBe(false);
          return response;
        };

        for (const step of actions) {
          switch (step.kind) {
            case 'random':
              transmit(step.apdu);
              break;
            case 'mutated':
              transmit(mutate(TEMPLATES[step.template]!, step.flips, step.cut, step.extra));
              break;
            case 'verify-pin':
              transmit(bytes(`002000800${PIN.length.toString(16)}${pinHex}`));
              break;
            case 'admin-auth': {
              transmit(bytes('0022C1A403830180'));
              const challenge = transmit(bytes('00870000047C02810000'));
              if (challenge.length === 14) {
                const answer = transmit(bytes(`008700000C7C0A8208${Buffer.from(adminKeyEncrypt(ADMIN_KEY, challenge.subarray(4, 12))).toString('hex')}`));
                if (answer[0] === 0x90) seen.adminAuthenticated++;
              }
              break;
            }
            case 'reset':
              card.reset();
              break;
          }
        }

        // The stored state is valid, serialises back to itself, and a card reopened from it answers alike.
        const text = store.load()!;
        expect(serialiseGidsCardState(parseGidsCardState(text, 'state'))).toBe(text);
        const reopened = VirtualGidsCard.open(new MemoryStateStore(text));
        const status = bytes('00CB3FFF045C027F7100');
        expect(Buffer.from(reopened.process(status)).toString('hex')).toBe(Buffer.from(card.process(status)).toString('hex'));
      }),
      { numRuns: 200, seed: 20261129 },
    );
    expect(apdus).toBeGreaterThanOrEqual(20_000);
    // The invariants were put to work: tries were spent and restored, the admin key was used.
    expect(seen.triesSpent).toBeGreaterThan(0);
    expect(seen.triesRestored).toBeGreaterThan(0);
    expect(seen.adminAuthenticated).toBeGreaterThan(0);
  });
});
