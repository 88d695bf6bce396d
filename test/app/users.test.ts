import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problem } from '../support/assert.ts';
import { shopUnderTest, type ShopUnderTest } from '../support/shop.ts';

let s: ShopUnderTest;
let ids: Record<string, number>;
before(async () => {
  s = await shopUnderTest();
  ids = Object.fromEntries((await s.testDb.sql(`SELECT username, id::int AS id FROM users`)).map((r) => [r.username, r.id]));
});
after(() => s.close());

describe('PUT /users/{id}', () => {
  it('myself: 200 with the new email', async () => {
    const res = await s.app.inject({ method: 'PUT', url: `/users/${ids.alice}`, payload: { email: 'alice@new.example' }, headers: await s.bearer('alice') });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().email, 'alice@new.example');
  });

  it('an email another account holds: 409, and nothing changes', async () => {
    const body = problem(
      await s.app.inject({ method: 'PUT', url: `/users/${ids.alice}`, payload: { email: 'bob@example.com' }, headers: await s.bearer('alice') }),
      409,
    );
    assert.match(String(body.detail), /already in use/);
    assert.equal((await s.testDb.sql(`SELECT email FROM users WHERE id = $1`, [ids.alice]))[0]!.email, 'alice@new.example');
  });

  it("another user's id: 404 (not 403); an admin may", async () => {
    problem(await s.app.inject({ method: 'PUT', url: `/users/${ids.bob}`, payload: { email: 'x@y.z' }, headers: await s.bearer('alice') }), 404);
    problem(await s.app.inject({ method: 'PUT', url: `/users/424242`, payload: { email: 'x@y.z' }, headers: await s.bearer('alice') }), 404);
    const res = await s.app.inject({ method: 'PUT', url: `/users/${ids.bob}`, payload: { email: 'bob@new.example' }, headers: await s.bearer('admin') });
    assert.equal(res.statusCode, 200);
  });

  it('not an email: 422', async () => {
    problem(await s.app.inject({ method: 'PUT', url: `/users/${ids.alice}`, payload: { email: 'nope' }, headers: await s.bearer('alice') }), 422);
  });
});

describe('PUT /users/{id}/settings', () => {
  it('204 with no body, and the settings are stored', async () => {
    const res = await s.app.inject({ method: 'PUT', url: `/users/${ids.alice}/settings`, payload: { newsletter: false, theme: 'dark' }, headers: await s.bearer('alice') });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.deepEqual((await s.testDb.sql(`SELECT settings FROM users WHERE id = $1`, [ids.alice]))[0]!.settings, { newsletter: false, theme: 'dark' });
  });

  it('a nested object is a type error: 400', async () => {
    problem(await s.app.inject({ method: 'PUT', url: `/users/${ids.alice}/settings`, payload: { deep: { x: 1 } }, headers: await s.bearer('alice') }), 400);
  });
});
