/** Admin views: 200 for admins, 403 + required_role for everyone else. */
import { Type } from 'typebox';
import { defineRoute } from '../decision/types.ts';
import { listOrders, orderJson } from '../store/orders.ts';
import { Order } from './schemas.ts';

export const adminRoutes = [
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
  defineRoute({
    method: 'GET',
    url: '/admin/reports',
    summary: 'Orders by status (admin)',
    tags: ['admin'],
    access: 'admin',
    success: {
      200: {
        description: 'Counts and totals per order status',
        schema: Type.Array(Type.Object({ status: Type.String(), orders: Type.Integer(), amount_cents: Type.Integer() })),
      },
    },
    async handle({ deps }) {
      const { rows } = await deps.db.query(
        `SELECT status, count(*)::int AS orders, coalesce(sum(amount_cents), 0)::int AS amount_cents FROM orders GROUP BY status ORDER BY status`,
      );
      return { status: 200, body: rows, headers: { 'cache-control': 'private, no-store' } };
    },
  }),
];
