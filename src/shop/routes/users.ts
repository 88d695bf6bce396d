/** Users: 200, 409 when the email is taken, 404 for another user's id, 204 for settings. */
import { Type } from 'typebox';
import { type FieldError, problemOf } from '../../http/index.ts';
import { notFound } from '../decision/locate.ts';
import { defineRoute, type Principal } from '../decision/types.ts';
import type { Db } from '../../db/pool.ts';
import * as store from '../store/users.ts';
import { IdParams, User } from './schemas.ts';

/** Yourself, or anyone for an admin; another user's id is "not found" (it is not yours to know about). */
async function locateUser(ctx: { params: { id: string }; user: Principal; deps: { db: Db } }) {
  const id = Number(ctx.params.id);
  if (id !== ctx.user.id && ctx.user.role !== 'admin') throw notFound('User', { user_id: id });
  const u = await store.findUser(ctx.deps.db, id);
  if (!u) throw notFound('User', { user_id: id });
  return u;
}

// Deliberately loose: one @, something either side, no spaces. Deliverability is the mail server's business.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]+$/;

export const userRoutes = [
  defineRoute({
    method: 'GET',
    url: '/users/:id',
    summary: 'Read a user (yourself; admins any)',
    tags: ['users'],
    access: 'user',
    schema: { params: IdParams },
    locate: locateUser,
    success: { 200: { description: 'The user', schema: User } },
    async handle({ resource }) {
      return { status: 200, body: store.userJson(resource), headers: { 'cache-control': 'private, no-store' } };
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/users/:id',
    summary: 'Change a user’s email',
    tags: ['users'],
    access: 'user',
    schema: { params: IdParams, body: Type.Object({ email: Type.String() }, { additionalProperties: false }) },
    locate: locateUser,
    validate: ({ body }) => (EMAIL.test(body.email) ? [] : [{ field: 'email', message: 'Must be an email address' } satisfies FieldError]),
    success: { 200: { description: 'Updated', schema: User } },
    extraProblems: { 409: 'The email is already in use by another account' },
    async handle({ body, deps, resource }) {
      try {
        return { status: 200, body: store.userJson(await store.setEmail(deps.db, resource.id, body.email)) };
      } catch (e) {
        if (!(e instanceof store.EmailTaken)) throw e;
        // RFC 9110 §15.5.10: say enough to recognise the source of the conflict — but not whose account it is.
        throw problemOf('email-taken', { detail: 'Email already in use by another account.', extensions: { field: 'email' } });
      }
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/users/:id/settings',
    summary: 'Merge settings; nothing to say back (204)',
    tags: ['users'],
    access: 'user',
    schema: {
      params: IdParams,
      body: Type.Object({}, { additionalProperties: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), maxProperties: 50 }),
    },
    locate: locateUser,
    success: { 204: { description: 'Saved' } },
    async handle({ body, deps, resource }) {
      await store.setSettings(deps.db, resource.id, body as Record<string, unknown>);
      return { status: 204 };
    },
  }),
];
