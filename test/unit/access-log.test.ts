/** The access-log file: every line reaches it, in order, in batches — soon after its request, at once on close. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AccessLog, FIELD, parseAccessLine, type AccessRecord } from '../../src/gateway/access-log.ts';

const record = (n: number): AccessRecord => ({
  type: 'http', time: new Date(), client: '10.0.0.1:5000', target: '10.0.1.1:80', requestProcessingTime: 0, targetProcessingTime: 0.001,
  responseProcessingTime: 0, elbStatusCode: 200, targetStatusCode: 200, receivedBytes: 100, sentBytes: 200,
  request: `GET http://shop.example:80/products/${n} HTTP/1.1`, userAgent: 'curl', targetGroup: 'targetgroup/shop', traceId: 'Root=1-x',
  domainName: 'shop.example', matchedRulePriority: 0, requestCreationTime: new Date(), actionsExecuted: ['forward'],
});
const pathsIn = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => parseAccessLine(l)[FIELD.request]!.split(' ')[1]!) : []);
const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-access-')), 'access.log');

describe('access-log file', () => {
  it('a few lines are on disk without a close, within a fraction of a second, in order', async () => {
    const file = tmp();
    const log = new AccessLog({ file });
    for (let i = 0; i < 3; i++) log.write(record(i));
    let seen: string[] = [];
    for (let i = 0; i < 100 && seen.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = pathsIn(file);
    }
    assert.deepEqual(seen, ['http://shop.example:80/products/0', 'http://shop.example:80/products/1', 'http://shop.example:80/products/2']);
    await log.close();
  });

  it('close writes what is still waiting; many lines across turns arrive whole and in order', async () => {
    const file = tmp();
    const log = new AccessLog({ file });
    const lines: string[] = [];
    log.onLine((line) => lines.push(line));
    for (let i = 0; i < 2000; i++) {
      log.write(record(i));
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.close();
    const paths = pathsIn(file);
    assert.equal(paths.length, 2000);
    assert.deepEqual(paths, Array.from({ length: 2000 }, (_, i) => `http://shop.example:80/products/${i}`));
    assert.equal(lines.length, 2000, 'listeners see every line too');
  });
});
