import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoTimestamp } from './clock.js';

test('isoTimestamp formats as Date.prototype.toISOString over years 0 to 9999', () => {
  const edges = [
    0,
    -1,
    1,
    951_782_400_000, // 2000-02-29
    4_107_542_399_999, // 2100-02-28T23:59:59.999
    4_107_542_400_000, // 2100-03-01
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    new Date('0000-01-01T00:00:00.000Z').getTime(),
    new Date('0000-03-01T00:00:00.000Z').getTime(),
    new Date('1600-02-29T12:00:00.000Z').getTime(),
  ];
  for (const ms of edges) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  const last = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
  const from = new Date('0000-01-01T00:00:00.000Z').getTime();
  let seed = 11;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const ms = Math.floor(from + (seed / 2147483648) * (last - from));
    assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  }
  // Every day of four years around a century leap rule, at the last millisecond.
  for (let d = Date.UTC(1999, 0, 1); d < Date.UTC(2003, 0, 1); d += 86_400_000)
    assert.equal(isoTimestamp(d + 86_399_999), new Date(d + 86_399_999).toISOString());
});
