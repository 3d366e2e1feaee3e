import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCommand } from '../../command/index.js';
import { gcCommand } from '../gc/command.js';
import { masterCommand } from './command.js';

describe('nfd-master and nfd-gc flags', () => {
  const root = { name: 'hwe', summary: '', subcommands: [masterCommand, gcCommand] };
  async function run(args: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const sink = (into: (s: string) => void) =>
      ({ write: (s: string) => (into(String(s)), true) }) as unknown as NodeJS.WritableStream;
    const code = await runCommand(root, args, {
      stdout: sink(() => undefined),
      stderr: sink((s) => (err += s)),
    });
    return { code, err };
  }
  const cases: [string[], string][] = [
    [['master', '-instance', '-bad-'], '--instance'],
    [['master', '-resync-period', 'soon'], '--resync-period'],
    [['master', '-nfd-api-parallelism', '0'], '--nfd-api-parallelism'],
    [['master', '-label-whitelist', '(unclosed'], '--label-whitelist'],
    [['master', '-port', '70000'], '--port'],
    [['gc', '-gc-interval', 'often'], '--gc-interval'],
    [['gc', '-gc-grace-period', 'a while'], '--gc-grace-period'],
    [['master', 'extra'], 'unexpected argument'],
  ];
  for (const [args, names] of cases) {
    it(`rejects ${args.join(' ')} naming ${names}`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.match(r.err, new RegExp(names.replace(/[-]/g, '\\-')));
    });
  }
});
