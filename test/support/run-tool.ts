// Test helper: runs an external smart-card tool (yubico-piv-tool, ykman, OpenSC) and returns its exit code and output.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together: the tools disagree on where their messages go. */
  output: string;
}

let openscConf: string | undefined;

/** An OpenSC configuration without file caching, so one card's data never leaks into the next test's card. */
function hermeticOpenscConf(): string {
  if (openscConf === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-opensc-'));
    openscConf = join(dir, 'opensc.conf');
    writeFileSync(openscConf, 'app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n');
  }
  return openscConf;
}

export function runTool(command: string, args: string[], options: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        timeout: options.timeoutMs ?? 30_000,
        cwd: options.cwd,
        env: { ...process.env, OPENSC_CONF: hermeticOpenscConf(), LC_ALL: 'C.UTF-8' },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
