// Process entry of the `tessera` command.
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv);
