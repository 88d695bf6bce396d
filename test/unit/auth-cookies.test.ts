/**
 * The sign-in's cookies (src/gateway/auth-cookies.ts): a session split into `<name>-0`, `<name>-1`, … of at most
 * 4096 bytes each (RFC 6265 §6.1), at most four (ALB's 16 KB), joined back in order; sealed values that open only
 * under their key and only before their `exp`.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { joinShards, parseCookies, seal, shardCookie, unseal } from '../../src/gateway/auth-cookies.ts';

describe('session cookie shards', () => {
  it('a short value is one shard, -0', () => {
    assert.deepEqual(shardCookie('AWSELBAuthSessionCookie', 'abc'), [['AWSELBAuthSessionCookie-0', 'abc']]);
  });

  it('a long value is cut so every name=value fits 4096 bytes, and joins back to itself', () => {
    const value = crypto.randomBytes(7000).toString('base64url');
    const shards = shardCookie('AWSELBAuthSessionCookie', value)!;
    assert.equal(shards.length, 3);
    assert.deepEqual(shards.map(([n]) => n), ['AWSELBAuthSessionCookie-0', 'AWSELBAuthSessionCookie-1', 'AWSELBAuthSessionCookie-2']);
    for (const [n, v] of shards) assert.ok(`${n}=${v}`.length <= 4096);
    assert.equal(`${shards[0]![0]}=${shards[0]![1]}`.length, 4096, 'each shard but the last is full');
    const header = shards.map(([n, v]) => `${n}=${v}`).reverse().join('; ');
    assert.equal(joinShards(parseCookies(`other=1; ${header}`), 'AWSELBAuthSessionCookie'), value);
  });

  it('more than four shards (16 KB) is refused', () => {
    assert.equal(shardCookie('S', 'x'.repeat(4 * 4092 + 1)), undefined);
    assert.equal(shardCookie('S', 'x'.repeat(4 * 4092))!.length, 4);
  });

  it('no -0 is no session; a gap ends the value', () => {
    assert.equal(joinShards(parseCookies('S-1=b'), 'S'), undefined);
    assert.equal(joinShards(parseCookies('S-0=a; S-2=c'), 'S'), 'a');
  });

  it('Cookie fields: pairs split at the first =, the first of a repeated name kept, HTTP/2 crumbs joined', () => {
    const c = parseCookies(['a=1=2; b=x', 'a=3; c=']);
    assert.equal(c.get('a'), '1=2');
    assert.equal(c.get('b'), 'x');
    assert.equal(c.get('c'), '');
  });
});

describe('sealed values', () => {
  const key = new Uint8Array(crypto.randomBytes(32));
  const now = () => Math.floor(Date.now() / 1000);

  it('open under their key, and only there', async () => {
    const sealed = await seal({ at: 'token', c: { sub: 'ana' } }, key, now() + 60);
    const opened = await unseal(sealed, key);
    assert.ok(typeof opened === 'object');
    assert.deepEqual(opened.payload.c, { sub: 'ana' });
    assert.equal(await unseal(sealed, new Uint8Array(crypto.randomBytes(32))), 'invalid');
    assert.equal(await unseal(sealed.slice(0, -2) + (sealed.endsWith('AA') ? 'BB' : 'AA'), key), 'invalid');
    assert.equal(await unseal('not a jwe', key), 'invalid');
  });

  it('an exp in the past is expired, not invalid', async () => {
    assert.equal(await unseal(await seal({ at: 't' }, key, now() - 10), key), 'expired');
  });
});
