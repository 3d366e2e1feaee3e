import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUOTE_MAX, boundedMessage, quoteValue } from './quote.js';

test('quoteValue quotes short values whole and cuts long ones, saying how long they were', () => {
  assert.equal(quoteValue('6.1.0-18-amd64'), '"6.1.0-18-amd64"');
  assert.equal(quoteValue(42), '"42"');
  assert.equal(quoteValue('a\nb\u0000'), '"a\\u000ab\\u0000"');
  assert.equal(quoteValue('^.*\\.x86_64$'), '"^.*\\.x86_64$"');
  const long = `5.${'x'.repeat(50_000)}`;
  const q = quoteValue(long);
  assert.equal(q, `"5.${'x'.repeat(QUOTE_MAX - 2)}"… (50002 characters)`);
  assert.ok(q.length < 100);
  // A surrogate pair at the cut is dropped whole, not halved.
  const emoji = `${'a'.repeat(QUOTE_MAX - 1)}🐧tail`;
  assert.equal(quoteValue(emoji), `"${'a'.repeat(QUOTE_MAX - 1)}"… (${emoji.length} characters)`);
  assert.equal(quoteValue('\uD800'), '"\\ud800"');
});

test('boundedMessage keeps short messages whole and cuts long ones, saying how long they were', () => {
  const short = 'error parsing regexp: missing closing ]: `[x`';
  assert.equal(boundedMessage(short), short);
  const long = `error parsing regexp: missing closing ): \`(${'a'.repeat(50_000)}\``;
  const m = boundedMessage(long);
  assert.equal(m, `${long.slice(0, 2 * QUOTE_MAX)}… (${long.length} characters)`);
  assert.equal(boundedMessage(long, 10), `${long.slice(0, 10)}… (${long.length} characters)`);
});
