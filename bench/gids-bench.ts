// Benchmark piece: APDUs per GidsSession operation against the in-process virtual GIDS card.
import { CountingTransport } from './counting-transport.ts';
import { computeUnblockResponse } from '../src/card/challenge-response.ts';
import { GidsSession } from '../src/card/gids/gids-session.ts';
import { Secret } from '../src/secret.ts';
import { MemoryStateStore } from '../src/virtual-card/card-state-store.ts';
import { VirtualGidsCard } from '../src/virtual-card/gids/virtual-gids-card.ts';
import { InProcessTransport } from '../src/virtual-card/in-process-transport.ts';

export async function countGidsOperationApdus(): Promise<{ operation: string; apdus: number }[]> {
  const adminKey = Secret.fromHex('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567');
  const transport = new CountingTransport(new InProcessTransport(VirtualGidsCard.createBlank(new MemoryStateStore(), { serial: 1 })));
  const results: { operation: string; apdus: number }[] = [];
  const count = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const before = transport.count;
    const result = await run();
    results.push({ operation, apdus: transport.count - before });
    return result;
  };
  const session = await count('open (SELECT)', () => GidsSession.open(transport));
  await count('initialise (as gids-tool -X)', () => session.initialise({ pin: Secret.fromText('1234'), adminKey }));
  await count('getPinStatus', () => session.getPinStatus());
  await count('getCardIdentifier', () => session.getCardIdentifier());
  await count('verifyPin', () => session.verifyPin(Secret.fromText('1234')));
  await count('changePin', () => session.changePin(Secret.fromText('1234'), Secret.fromText('5678')));
  await count('authenticateAdmin (mutual)', () => session.authenticateAdmin(adminKey));
  await count('unblockPin (mutual auth + RESET RETRY COUNTER)', () => session.unblockPin(adminKey, Secret.fromText('2468')));
  const challenge = await count('getUnblockChallenge (offline)', () => session.getUnblockChallenge());
  await count('unblockWithResponse (offline)', () => session.unblockWithResponse(computeUnblockResponse(adminKey, challenge), Secret.fromText('1357')));
  await count('changeAdminKey (after authentication)', async () => {
    await session.authenticateAdmin(adminKey);
    await session.changeAdminKey(Secret.fromHex('1122334455667788AABBCCDDEEFF00119988776655443322'));
  });
  return results;
}
