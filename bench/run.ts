// `npm run bench`: Tessera's speed figures. Never a pass/fail test: the machines are shared and noisy.
import { countPivOperationApdus, measurePivApduRates } from './piv-bench.ts';
import { countGidsOperationApdus } from './gids-bench.ts';
import { measurePcscApduRate } from './pcsc-bench.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const line = (text = '') => process.stdout.write(`${text}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

line(`Tessera benchmarks (node ${process.version}, ${seconds} s per measurement)`);
line();
line('PivSession <-> in-process virtual PIV card (target >= 50,000 APDUs/s)');
for (const r of await measurePivApduRates(seconds)) {
  line(`  ${r.workload.padEnd(40)} ${fmt(r.apdusPerSecond).padStart(9)} APDUs/s  (${fmt(r.apdus)} APDUs in ${r.seconds.toFixed(2)} s)`);
}
line();
line('APDUs per PivSession operation');
for (const r of await countPivOperationApdus()) line(`  ${r.operation.padEnd(40)} ${String(r.apdus).padStart(3)}`);
line();
line('APDUs per GidsSession operation');
for (const r of await countGidsOperationApdus()) line(`  ${r.operation.padEnd(48)} ${String(r.apdus).padStart(3)}`);
line();
line('Through pcscd + vpcd (target >= 1,000 APDUs/s with TCP_NODELAY)');
const pcsc = await measurePcscApduRate({ seconds });
if (pcsc.skipped) {
  line(`  skipped: ${pcsc.reason}`);
} else {
  for (const [name, r] of [['with TCP_NODELAY', pcsc.withNodelay], ['without TCP_NODELAY', pcsc.withoutNodelay]] as const) {
    line(`  ${name.padEnd(40)} ${fmt(r.apdusPerSecond).padStart(9)} APDUs/s  (mean ${r.meanLatencyMs.toFixed(2)} ms per APDU, ${fmt(r.apdus)} APDUs)`);
  }
}
