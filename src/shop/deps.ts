/** What the shop's routes need from the outside, passed in once (so tests can build the app without a socket). */
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import type { AlbIdentity } from './auth/alb-identity.ts';
import type { Tokens } from './auth/tokens.ts';
import type { Faults } from '../faults.ts';
import type { PaymentProvider } from './payments.ts';
import type { RateLimits } from './rate-limit.ts';

export interface ShopDeps {
  config: Config;
  db: Db;
  tokens: Tokens;
  payments: PaymentProvider;
  faults: Faults;
  rateLimits: RateLimits;
  /** The load balancer's signed-in user (x-amzn-oidc-data), trusted only when this is set (`receipt start` sets it). */
  albIdentity?: AlbIdentity;
}
