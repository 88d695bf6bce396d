/**
 * The admin console's sign-in in `receipt start`: a local OpenID Connect provider (src/idp/local-provider.ts — a
 * certified implementation, not a stub) that knows the shop's demo users by their own names and passwords, and the
 * `authenticate-oidc` action the default gateway configuration puts in front of /console (gateway/config.ts,
 * `defaultGatewayConfig`). The load balancer is the provider's client, as ALB is in front of a real app: it sends the
 * browser to sign in, takes the code back at /oauth2/idpresponse, and tells the shop who it is in x-amzn-oidc-data.
 */
import crypto from 'node:crypto';
import type { AuthenticateOidcAction } from '../gateway/config.ts';
import { startLocalProvider, type LocalProvider } from '../idp/local-provider.ts';
import { DEMO_USERS } from '../shop/seed.ts';

export interface ConsoleSignIn {
  provider: LocalProvider;
  /** The action, without what each rule chooses (what an unauthenticated request gets). */
  action: Omit<AuthenticateOidcAction, 'onUnauthenticatedRequest'>;
  close(): Promise<void>;
}

/**
 * The hosts a browser may use to reach the HTTPS listener; ALB builds its redirect_uri from the request's Host, and
 * the provider accepts only redirect URIs registered for the client (RFC 6749 §3.1.2.2).
 */
const HOSTS = ['localhost', '127.0.0.1', 'shop.localhost', 'www.shop.localhost'];

export async function startConsoleSignIn(o: { host: string; httpsPort: number }): Promise<ConsoleSignIn> {
  const clientId = 'receipt-gateway';
  const clientSecret = crypto.randomBytes(24).toString('base64url');
  const provider = await startLocalProvider({
    host: o.host,
    clients: [{ clientId, clientSecret, redirectUris: [...new Set([o.host, ...HOSTS])].map((h) => `https://${h}:${o.httpsPort}/oauth2/idpresponse`) }],
    users: DEMO_USERS.map((u) => ({ username: u.username, password: u.password, claims: { email: u.email, email_verified: true, name: u.username } })),
  });
  return {
    provider,
    action: {
      type: 'authenticate-oidc',
      issuer: provider.issuer,
      authorizationEndpoint: provider.authorizationEndpoint,
      tokenEndpoint: provider.tokenEndpoint,
      userInfoEndpoint: provider.userInfoEndpoint,
      clientId,
      clientSecret,
      scope: 'openid email profile',
      // Short enough that a learner sees a session end within a sitting; ALB's default is seven days.
      sessionTimeout: 3600,
    },
    close: () => provider.close(),
  };
}
