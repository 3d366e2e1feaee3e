import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  type Command,
  type FlagSpec,
  lazyCommand,
  parseFlags,
  runCommand,
  UsageError,
} from './command.js';

const specs: FlagSpec[] = [
  { name: 'oneshot', type: 'boolean', help: '' },
  { name: 'sleep-interval', type: 'string', default: '60s', help: '' },
  { name: 'nodes', type: 'number', default: 3, help: '' },
  { name: 'output', aliases: ['o'], type: 'string', help: '' },
  { name: 'extra-label-ns', type: 'list', default: ['a'], help: '' },
];

describe('parseFlags', () => {
  const cases: {
    argv: string[];
    flags?: Record<string, unknown>;
    args?: string[];
    error?: RegExp;
  }[] = [
    { argv: [], flags: { 'sleep-interval': '60s', nodes: 3, 'extra-label-ns': ['a'] }, args: [] },
    { argv: ['-oneshot'], flags: { oneshot: true } },
    { argv: ['--oneshot=false'], flags: { oneshot: false } },
    { argv: ['-oneshot=true', 'file.yaml'], flags: { oneshot: true }, args: ['file.yaml'] },
    { argv: ['--sleep-interval', '10s'], flags: { 'sleep-interval': '10s' } },
    { argv: ['-sleep-interval=5m'], flags: { 'sleep-interval': '5m' } },
    { argv: ['-o', 'json'], flags: { output: 'json' } },
    { argv: ['--nodes=50'], flags: { nodes: 50 } },
    {
      argv: ['--extra-label-ns=x,y', '--extra-label-ns', 'z'],
      flags: { 'extra-label-ns': ['x', 'y', 'z'] },
    },
    { argv: ['a', '--', '--not-a-flag'], args: ['a', '--not-a-flag'] },
    { argv: ['-'], args: ['-'] },
    { argv: ['--nodes', 'many'], error: /--nodes: "many" is not a number/ },
    { argv: ['--nodes', ''], error: /--nodes: "" is not a number/ },
    { argv: ['--oneshot=maybe'], error: /--oneshot: "maybe" is not a boolean/ },
    { argv: ['--sleep-interval'], error: /--sleep-interval needs a value/ },
    { argv: ['--no-such'], error: /unknown flag --no-such/ },
    { argv: ['-x=1'], error: /unknown flag -x/ },
  ];
  for (const c of cases) {
    it(c.argv.join(' ') || '(nothing)', () => {
      if (c.error) {
        assert.throws(
          () => parseFlags(specs, c.argv),
          (e: unknown) => e instanceof UsageError && c.error!.test(e.message),
        );
        return;
      }
      const r = parseFlags(specs, c.argv);
      for (const [k, v] of Object.entries(c.flags ?? {})) assert.deepEqual(r.flags[k], v, k);
      if (c.args) assert.deepEqual(r.args, c.args);
    });
  }
});

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('runCommand', () => {
  const seen: string[][] = [];
  const root: Command = {
    name: 'hwe',
    summary: 'root',
    subcommands: [
      {
        name: 'nfd',
        summary: 'nfd things',
        subcommands: [
          {
            name: 'worker',
            summary: 'the worker',
            flags: [{ name: 'oneshot', type: 'boolean', help: 'run once' }],
            run: async ({ flags, args }) => {
              seen.push([String(flags.oneshot), ...args]);
              return 7;
            },
          },
        ],
      },
    ],
  };
  const run = async (argv: string[]) => {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await runCommand(root, argv, { stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  it('routes to the subcommand with its flags and returns its exit code', async () => {
    const r = await run(['nfd', 'worker', '-oneshot', 'x']);
    assert.equal(r.code, 7);
    assert.deepEqual(seen.pop(), ['true', 'x']);
  });
  it('prints help on --help with exit 0, and on a bare group with exit 2', async () => {
    const h = await run(['nfd', 'worker', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: hwe nfd worker \[flags\]/);
    assert.match(h.stdout, /--oneshot\s+run once/);
    const g = await run(['nfd']);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /worker\s+the worker/);
  });
  it('loads a lazy command only when it is invoked', async () => {
    let loads = 0;
    const lazyRoot: Command = {
      name: 'hwe',
      summary: 'root',
      subcommands: [
        lazyCommand('heavy', 'a command with a costly module', async () => {
          loads++;
          return { name: 'heavy', summary: 'loaded', run: async () => 5 };
        }),
      ],
    };
    const out = new Sink();
    assert.equal(await runCommand(lazyRoot, ['--help'], { stdout: out, stderr: new Sink() }), 0);
    assert.match(out.text, /heavy\s+a command with a costly module/);
    assert.equal(loads, 0);
    assert.equal(
      await runCommand(lazyRoot, ['heavy'], { stdout: new Sink(), stderr: new Sink() }),
      5,
    );
    assert.equal(loads, 1);
  });
  it('names an unknown command or flag, exit 2', async () => {
    const c = await run(['nfd', 'wrker']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /unknown command "wrker"/);
    const f = await run(['nfd', 'worker', '--oneshoot']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /hwe nfd worker: unknown flag --oneshoot/);
  });
});
