import { describe, expect, it } from 'vitest';
import { MemoryStateStore, StateFileError } from '../card-state-store.ts';
import { VirtualPivCard } from './virtual-piv-card.ts';
import { PivSession } from '../../card/piv/piv-session.ts';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIV_ALGORITHM } from '../../card/piv/piv-constants.ts';
import { Secret } from '../../secret.ts';
import { InProcessTransport } from '../in-process-transport.ts';

const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const hex = (data: Uint8Array) => Buffer.from(data).toString('hex').toUpperCase();

function card() {
  const store = new MemoryStateStore();
  const piv = VirtualPivCard.create(store, { serial: 0x01020304 });
  return { piv, store, send: (apdu: string) => hex(piv.process(bytes(apdu))) };
}

describe('VirtualPivCard at the APDU level', () => {
  it('selects PIV by full or truncated AID with the application property template', () => {
    const { send } = card();
    const template = '61114F0600001000010079074F05A000000308';
    expect(send('00A404000BA000000308000010000100')).toBe(`${template}9000`);
    expect(send('00A4040005A000000308')).toBe(`${template}9000`);
    expect(send('00A4040009A00000030800001000')).toBe(`${template}9000`);
  });

  it('answers 6A82 to any other application, and stays selected', () => {
    const { send } = card();
    expect(send('00A4040009A00000039742544659')).toBe('6A82');
    expect(send('00A4040007A0000005272101')).toBe('6A82');
    expect(send('00FD0000')).toBe('0504039000');
  });

  it('answers the discovery object before any SELECT, as OpenSC asks for it', () => {
    const { send } = card();
    expect(send('00CB3FFF035C017E00')).toBe('7E124F0BA0000003080000100001005F2F0240009000');
  });

  it('parses extended-length APDUs as ykman sends them', () => {
    const { send } = card();
    expect(send('00A4040000000BA000000308000010000100')).toMatch(/9000$/);
    expect(send('00FD0000000000')).toBe('0504039000');
    expect(send('00F8000000')).toBe('010203049000');
    expect(send('00F700800000000000'.slice(0, 8) + '000000')).toBe('0101FF05010106020303' + '9000');
  });

  it('answers malformed APDUs with the status word a card sends and changes nothing', () => {
    const { send, store } = card();
    const before = store.load();
    const cases: [string, string][] = [
      ['00A4', '6700'], // shorter than a header
      ['00200080080102', '6700'], // Lc longer than the data
      ['8020008008313233343536FFFF', '6E00'], // proprietary class
      ['0C20008008313233343536FFFF', '6882'], // secure messaging
      ['00990000', '6D00'], // unknown instruction
      ['00200081', '6A86'], // VERIFY of the PUK reference
      ['002000800431323334', '6A80'], // PIN block not 8 bytes
      ['0024008010313233343536FFFF3132FFFF31FFFFFF', '6A80'], // new PIN not a padded block
      ['0024008010313233343536FFFF31323334FFFFFFFF', '6A80'], // new PIN shorter than 6
      ['00CB3FFF045C035FC1', '6A80'], // truncated tag list
      ['00CB3FFE055C035FC102', '6A86'], // wrong P2
      ['00DB3FFF0D5C035FC1025306340411223344', '6982'], // PUT DATA without the management key
      ['0047009A05AC03800199', '6A80'], // unknown algorithm
      ['00870399047C028000', '6A86'], // unknown key reference
      ['0087119A047C028000', '6A88'], // empty slot
      ['00FB0000', '6985'], // reset while PIN and PUK are usable
      ['00C00000', '6985'], // GET RESPONSE with nothing pending
      ['00CB3FFF055C035FC109', '6982'], // printed information: the PIN first, even for an absent object
    ];
    for (const [apdu, sw] of cases) expect(send(apdu), apdu).toBe(sw);
    expect(store.load()).toBe(before);
    expect(send('00200080')).toBe('63C3');
  });

  it('hands long answers out in 256-byte pieces behind 61xx, and whole to an extended Le', async () => {
    const { send, piv } = card();
    const session = await PivSession.open(new InProcessTransport(piv));
    await session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX));
    await session.putObject(0x5fc105, new Uint8Array(600).fill(0x42));
    const first = send('00CB3FFF055C035FC105');
    expect(first.length).toBe(2 * 258);
    expect(first.slice(-4)).toBe('6100');
    expect(send('00C0000000').slice(-4)).toBe('615C');
    expect(send('00C000005C').slice(-4)).toBe('9000');
    const whole = send('00CB3FFF0000055C035FC1050000');
    expect(whole.length).toBe(2 * (4 + 600 + 2));
    expect(whole.slice(-4)).toBe('9000');
  });

  it('answers 6581 to everything once its store cannot save, so failed writes never give free PIN tries', () => {
    const { piv, store } = card();
    store.save = () => {
      throw new StateFileError('ERR_STATE_FILE_IO', 'disk full');
    };
    expect(hex(piv.process(bytes('0020008008393939393939FFFF')))).toBe('6581');
    expect(hex(piv.process(bytes('0020008008313233343536FFFF')))).toBe('6581');
    expect(hex(piv.process(bytes('00FD0000')))).toBe('6581');
  });

  it('forgets a verified PIN once the PIN is presented wrongly, even through CHANGE REFERENCE DATA', () => {
    const { send } = card();
    expect(send('0020008008313233343536FFFF')).toBe('9000');
    expect(send('0020008000'.slice(0, 8))).toBe('9000');
    expect(send('0024008010393939393939FFFF363534333231FFFF')).toBe('63C2');
    expect(send('00200080')).toBe('63C2');
  });
});
