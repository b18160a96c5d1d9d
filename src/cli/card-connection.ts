// Opens the card a command names: a virtual card file (--card) or a PC/SC reader (--reader).
import type { CardTransport } from '../card/card-transport.ts';
import { PivSession } from '../card/piv/piv-session.ts';
import { PcscTransport } from '../pcsc/pcsc-transport.ts';
import { openVirtualCardFile } from '../virtual-card/card-file.ts';
import { InProcessTransport } from '../virtual-card/in-process-transport.ts';
import { UsageError } from './cli-errors.ts';

export interface CardChoice {
  card?: string;
  reader?: string;
}

/** Runs `work` with a transport to the named card and always releases the reader afterwards. */
export async function withCardTransport<T>(choice: CardChoice, work: (transport: CardTransport) => Promise<T>): Promise<T> {
  if ((choice.card === undefined) === (choice.reader === undefined)) throw new UsageError('name the card with --card FILE or --reader NAME (one of them)');
  if (choice.card !== undefined) return work(new InProcessTransport(openVirtualCardFile(choice.card).card));
  const pcsc = await PcscTransport.connect(choice.reader!);
  try {
    return await work(pcsc);
  } finally {
    // Reset on the way out, so a verified PIN or management key does not outlive the command.
    await pcsc.close({ reset: true });
  }
}

export async function withPivSession<T>(choice: CardChoice, work: (session: PivSession) => Promise<T>): Promise<T> {
  return withCardTransport(choice, async (transport) => work(await PivSession.open(transport)));
}
