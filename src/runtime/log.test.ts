import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError } from './client.js';
import { createLogger, parseLogLevel } from './log.js';

test('JSON lines with ts, level, logger, msg and fields; children add fields and names', () => {
  const lines: string[] = [];
  const log = createLogger({
    name: 'kmm',
    level: 'info',
    write: (l) => lines.push(l),
    clock: () => new Date('2026-01-01T00:00:00Z'),
  });
  log.debug('hidden');
  log.info('hello', { n: 1 });
  log.child({ logger: 'controller', controller: 'module' }).error('failed', {
    error: new KubeError('Conflict', 409, 'stale'),
  });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n')));
  assert.deepEqual(JSON.parse(lines[0]!), {
    ts: '2026-01-01T00:00:00.000Z',
    level: 'info',
    logger: 'kmm',
    msg: 'hello',
    n: 1,
  });
  assert.deepEqual(JSON.parse(lines[1]!), {
    ts: '2026-01-01T00:00:00.000Z',
    level: 'error',
    logger: 'kmm/controller',
    msg: 'failed',
    controller: 'module',
    error: { kind: 'Conflict', message: 'stale' },
  });
});

test('a field that cannot be serialised does not lose the line', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), level: 'info' });
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  log.info('still here', { loop });
  assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'still here');
});

test('parseLogLevel', () => {
  assert.equal(parseLogLevel('debug'), 'debug');
  assert.equal(parseLogLevel('loud'), 'info');
  assert.equal(parseLogLevel(undefined, 'warn'), 'warn');
});
