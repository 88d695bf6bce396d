/**
 * A user signing in at the local provider as a browser would (src/idp/local-provider.ts): follow its redirects with
 * its cookies, fill in the login form, allow the consent, until the provider sends the browser back to the relying
 * party — here the load balancer's /oauth2/idpresponse. Used by `receipt scenarios` and the tests; the provider's
 * own cookies stay in this jar, as they would in the browser, and never reach the load balancer.
 */
import { request } from 'undici';

/** A browser's cookies for one site: name → value. */
export type Jar = Map<string, string>;

/** Set-Cookie lines into the jar; a cookie set to expire in the past is removed (RFC 6265 §5.3). */
export function storeCookies(jar: Jar, setCookie: string | string[] | undefined): void {
  for (const line of ([] as string[]).concat(setCookie ?? [])) {
    const [pair, ...attrs] = line.split(';');
    const at = pair!.indexOf('=');
    const name = pair!.slice(0, at).trim();
    const expires = attrs.find((a) => /^\s*expires=/i.test(a));
    const maxAge = attrs.find((a) => /^\s*max-age=/i.test(a));
    const gone = (expires && new Date(expires.split('=')[1]!).getTime() < Date.now()) || (maxAge && Number(maxAge.split('=')[1]) <= 0);
    if (gone) jar.delete(name);
    else jar.set(name, pair!.slice(at + 1).trim());
  }
}

export const cookieHeader = (jar: Jar) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

/**
 * From the authorization URL the load balancer redirected to, through the provider's login and consent pages, to
 * the URL the provider sends the browser back to (the first that `isCallback` accepts).
 */
export async function signInAtProvider(authorizeUrl: string, user: { username: string; password: string }, isCallback: (url: string) => boolean): Promise<string> {
  const jar: Jar = new Map();
  let url = authorizeUrl;
  for (let hop = 0; hop < 12; hop++) {
    if (isCallback(url)) return url;
    let r = await request(url, { headers: jar.size ? { cookie: cookieHeader(jar) } : {} });
    storeCookies(jar, r.headers['set-cookie']);
    const page = await r.body.text();
    if (r.statusCode === 200) {
      // A form to answer: /interaction/<uid>/login (who you are) or /confirm (what the client may have).
      const action = /action="([^"]+)"/.exec(page)?.[1];
      if (!action) throw new Error(`the provider's page at ${url} has no form`);
      const form = action.endsWith('/login') ? new URLSearchParams(user).toString() : '';
      r = await request(new URL(action, url).href, { method: 'POST', headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      storeCookies(jar, r.headers['set-cookie']);
      await r.body.text();
    }
    if (r.statusCode < 300 || r.statusCode >= 400) throw new Error(`the provider answered ${r.statusCode} at ${url}`);
    url = new URL(r.headers.location as string, url).href;
  }
  throw new Error('the provider never sent the browser back');
}
