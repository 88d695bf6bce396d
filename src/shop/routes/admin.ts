/**
 * Admin views: 200 for admins, 403 + required_role for everyone else. The console is the same views as a page for
 * a browser, for an admin the load balancer signed in (`receipt start` puts an authenticate-oidc rule in front of
 * /console: docs/own-app.md, "Sign-in at the load balancer") or one who sends a bearer token.
 */
import { Type } from 'typebox';
import { defineRoute, type SuccessDoc } from '../decision/types.ts';
import { listOrders, orderJson } from '../store/orders.ts';
import { findUser } from '../store/users.ts';
import { Order } from './schemas.ts';

const escape = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function ordersByStatus(db: Parameters<typeof listOrders>[0]) {
  const { rows } = await db.query<{ status: string; orders: number; amount_cents: number }>(
    `SELECT status, count(*)::int AS orders, coalesce(sum(amount_cents), 0)::int AS amount_cents FROM orders GROUP BY status ORDER BY status`,
  );
  return rows;
}

const OrdersByStatus = Type.Array(Type.Object({ status: Type.String(), orders: Type.Integer(), amount_cents: Type.Integer() }));

/** Counts and totals per order status, for an admin, at `url`. */
const ordersByStatusRoute = (url: string, summary: string, edge?: Record<number, SuccessDoc>) =>
  defineRoute({
    method: 'GET',
    url,
    summary,
    tags: ['admin'],
    access: 'admin',
    ...(edge ? { edge } : {}),
    success: { 200: { description: 'Counts and totals per order status', schema: OrdersByStatus } },
    async handle({ deps }) {
      return { status: 200, body: await ordersByStatus(deps.db), headers: { 'cache-control': 'private, no-store' } };
    },
  });

export const adminRoutes = [
  defineRoute({
    method: 'GET',
    url: '/console',
    summary: 'The admin console, a page (admin; signed in at the load balancer or with a bearer token)',
    tags: ['admin'],
    access: 'admin',
    success: { 200: { description: 'An HTML page: who is signed in, and orders by status', schema: Type.String() } },
    edge: {
      302: {
        description: 'From the load balancer in front (receipt start): over HTTP, to the same page on HTTPS; over HTTPS without a session, to the sign-in provider',
        headers: ['Location'],
      },
    },
    async handle({ deps, req, user }) {
      const who = await findUser(deps.db, user.id);
      // What the load balancer told the target, shown so a learner can see the fields arrive.
      const identity = req.headers['x-amzn-oidc-identity'];
      const by = identity === undefined ? 'a bearer token' : `the load balancer (x-amzn-oidc-identity: ${escape(identity)})`;
      const rows = (await ordersByStatus(deps.db)).map((r) => `<tr><td>${escape(r.status)}</td><td>${r.orders}</td><td>${(r.amount_cents / 100).toFixed(2)}</td></tr>`);
      const html =
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Receipt admin console</title></head><body>` +
        `<h1>Admin console</h1><p id="who">Signed in as <b>${escape(who?.username)}</b> (${escape(who?.role)}), by ${by}.</p>` +
        `<table><thead><tr><th>status</th><th>orders</th><th>amount</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
      return { status: 200, body: html, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'private, no-store' } };
    },
  }),
  // The same view for the console page's scripts, on the path the load balancer's sign-in covers.
  ordersByStatusRoute('/console/reports', 'Orders by status, for the console page’s scripts (admin)', {
    302: { description: 'From the load balancer in front (receipt start): a GET over HTTP, to the same path on HTTPS', headers: ['Location'] },
  }),
  defineRoute({
    method: 'GET',
    url: '/admin/orders',
    summary: 'Every customer’s orders (admin)',
    tags: ['admin'],
    access: 'admin',
    success: { 200: { description: 'All orders', schema: Type.Array(Order) } },
    async handle({ deps }) {
      return { status: 200, body: (await listOrders(deps.db, {})).map(orderJson), headers: { 'cache-control': 'private, no-store' } };
    },
  }),
  ordersByStatusRoute('/admin/reports', 'Orders by status (admin)'),
];
