// Prompts for secrets: from the terminal without echo, or one answer per line from stdin otherwise.
import { createInterface } from 'node:readline';
import { Secret } from '../secret.ts';
import { UsageError } from './cli-errors.ts';

/** One line from the terminal (not echoed) or, when stdin is not a terminal, the next line of stdin. */
export async function readSecretLine(prompt: string, what = 'PIN'): Promise<Secret> {
  const lines = createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true, output: process.stdin.isTTY ? process.stderr : undefined });
  if (process.stdin.isTTY) {
    process.stderr.write(prompt);
    // Mute the echo: readline writes typed characters to its output, which we swallow.
    (lines as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = () => undefined;
  }
  try {
    const line = await new Promise<string | undefined>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(undefined));
    });
    if (process.stdin.isTTY) process.stderr.write('\n');
    if (line === undefined || line === '') throw new UsageError(`no ${what} given`);
    return Secret.fromText(line);
  } finally {
    lines.close();
  }
}
