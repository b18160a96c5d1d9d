// FCPs of the minidriver file system: byte-identical to what gids-tool creates, so both kinds of initialisation give the same card.
import { describe, expect, it } from 'vitest';
import { adminKeyFileFcp, initialDataObjectFiles } from './gids-file-control.ts';

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex').toUpperCase();

describe('initial file control parameters', () => {
  it('match the data-object EFs and the admin key file gids-tool -X creates', () => {
    expect(initialDataObjectFiles().map(hex)).toEqual([
      '620C8201398302A0008C03033000',
      '620C8201398302A0108C03033000',
      '620C8201398302A0118C030330FF',
      '620C8201398302A0128C03032000',
      '620C8201398302A0138C03033030',
      '620C8201398302A0148C03032020',
    ]);
    expect(hex(adminKeyFileFcp())).toBe('621A8201188302B0808C04870020FFA50BA4098001028301809501C0');
  });
});
