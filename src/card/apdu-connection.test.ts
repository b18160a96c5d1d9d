import { describe, expect, it } from 'vitest';
import { ApduConnection } from './apdu-connection.ts';
import type { CardTransport } from './card-transport.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();
const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

/** A scripted card: answers each command with the next canned response and records what it got. */
function scripted(responses: string[]): CardTransport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    transmit: async (command) => {
      sent.push(hex(command));
      const next = responses.shift();
      return bytes(next ?? '6F00');
    },
  };
}

describe('ApduConnection', () => {
  it('sends data above 255 bytes as a command chain', async () => {
    const transport = scripted(['9000', '9000']);
    const connection = new ApduConnection(transport);
    const response = await connection.send({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: new Uint8Array(300).fill(0xaa) });
    expect(response.sw).toBe(0x9000);
    expect(transport.sent[0]!.slice(0, 10)).toBe('10DB3FFFFF');
    expect(transport.sent[1]!.slice(0, 10)).toBe('00DB3FFF2D');
    expect(connection.apduCount).toBe(2);
  });

  it('stops a chain at the first refusal', async () => {
    const transport = scripted(['6982']);
    const response = await new ApduConnection(transport).send({ cla: 0, ins: 0xdb, p1: 0, p2: 0, data: new Uint8Array(600) });
    expect(response.sw).toBe(0x6982);
    expect(transport.sent).toHaveLength(1);
  });

  it('collects 61xx answers with GET RESPONSE', async () => {
    const transport = scripted(['01026104', '030405066102', '07089000']);
    const response = await new ApduConnection(transport).send({ cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: bytes('5C017E') });
    expect(hex(response.data)).toBe('0102030405060708');
    expect(response.sw).toBe(0x9000);
    expect(transport.sent.slice(1)).toEqual(['00C0000004', '00C0000002']);
  });

  it('repeats a command with the Le a 6Cxx answer names', async () => {
    const transport = scripted(['6C03', 'AABBCC9000']);
    const response = await new ApduConnection(transport).send({ cla: 0, ins: 0xf8, p1: 0, p2: 0, le: 256 });
    expect(hex(response.data)).toBe('AABBCC');
    expect(transport.sent).toEqual(['00F8000000', '00F8000003']);
  });

  it('sends one extended APDU when asked to', async () => {
    const transport = scripted(['9000']);
    await new ApduConnection(transport, { encoding: 'extended' }).send({ cla: 0, ins: 0xdb, p1: 0, p2: 0, data: new Uint8Array(300) });
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]!.slice(0, 14)).toBe('00DB000000012C');
  });

  it('gives up on a card that answers 61xx forever', async () => {
    const transport: CardTransport = { transmit: async () => bytes('6101') };
    await expect(new ApduConnection(transport).send({ cla: 0, ins: 0xcb, p1: 0, p2: 0 })).rejects.toMatchObject({ code: 'ERR_CARD_INVALID_RESPONSE' });
  });
});
