// `tessera card ...`: create, inspect and serve cards (virtual card files and readers).
import type { Command } from 'commander';

export function registerCardCommands(program: Command): void {
  program.command('card').description('create, inspect and serve smart cards and virtual cards');
}
