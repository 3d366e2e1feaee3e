import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCommand } from '../../command/index.js';
import { gcCommand } from '../gc/command.js';
import { masterCommand } from './command.js';
import { nodeChangedForMaster, slimNode, type MasterNode } from './master.js';

function node(over: Partial<MasterNode['metadata']> = {}, status: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'n1',
      uid: 'u1',
      resourceVersion: '7',
      labels: { a: '1' },
      annotations: { b: '2' },
      managedFields: [{ manager: 'kubelet' }],
      ...over,
    },
    spec: { taints: [{ key: 'k', effect: 'NoSchedule' }], podCIDR: '10.0.0.0/24' },
    status: {
      capacity: { cpu: '4' },
      allocatable: { cpu: '4' },
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: 'now' }],
      images: [{ names: ['x'] }],
      ...status,
    },
  } as unknown as MasterNode;
}

describe('slimNode', () => {
  it('keeps what the master reads and drops the rest', () => {
    assert.deepEqual(slimNode(node()), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'n1',
        uid: 'u1',
        resourceVersion: '7',
        labels: { a: '1' },
        annotations: { b: '2' },
      },
      spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] },
      status: { capacity: { cpu: '4' }, allocatable: { cpu: '4' } },
    });
  });
});

describe('nodeChangedForMaster', () => {
  const update = nodeChangedForMaster.update!.bind(nodeChangedForMaster);
  it('ignores a heartbeat', () => {
    const a = slimNode(node());
    const b = slimNode(
      node(
        { resourceVersion: '8' },
        { conditions: [{ type: 'Ready', lastHeartbeatTime: 'later' }] },
      ),
    );
    assert.equal(update(a, b), false);
  });
  it('passes changes to labels, annotations, taints and capacity', () => {
    const a = slimNode(node());
    assert.equal(update(a, slimNode(node({ labels: { a: '2' } }))), true);
    assert.equal(update(a, slimNode(node({ annotations: {} }))), true);
    assert.equal(update(a, slimNode(node({}, { capacity: { cpu: '8' } }))), true);
    const untainted = slimNode(node());
    delete untainted.spec;
    assert.equal(update(a, untainted), true);
  });
});

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
