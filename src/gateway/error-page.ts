/**
 * What a gateway-made answer looks like. ALB sends nginx's error page without the signature line and
 * `Server: awselb/2.0` (as observed from ALB). The contract adds: `application/problem+json` when the request's
 * Accept prefers JSON (RFC 9457), so API clients get a parseable body from the gateway too.
 */
import { STATUS_CODES } from 'node:http';
import Negotiator from 'negotiator';
import { makeProblem, PROBLEM_JSON } from '../http/index.ts';

/** ALB/nginx reason phrases, which differ from RFC 9110's for some codes (observed). */
const ALB_PHRASE: Record<number, string> = {
  400: 'Bad Request',
  405: 'Not Allowed',
  408: 'Request Time-out',
  413: 'Request Entity Too Large',
  417: 'Expectation Failed',
  460: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
  // AWS's troubleshooting page names it "HTTP 561: Unauthorized" (an authenticate action's provider said no).
  561: 'Unauthorized',
};

/** ALB's phrase for its own statuses; RFC 9110's for an action's (a fixed response's 200, a redirect's 301). */
export function albPhrase(status: number): string {
  return ALB_PHRASE[status] ?? STATUS_CODES[status] ?? 'Error';
}

/** The observed template, CRLF line endings: "503 Service Temporarily Unavailable" is exactly 162 bytes. */
export function albHtml(status: number): string {
  const line = `${status} ${albPhrase(status)}`;
  return ['<html>', `<head><title>${line}</title></head>`, '<body>', `<center><h1>${line}</h1></center>`, '</body>', '</html>', ''].join('\r\n');
}

/**
 * True when the client would rather have JSON: proactive negotiation on Accept (RFC 9110 §12.5.1) between ALB's HTML
 * page — first, so `*\/*` or no Accept gets what ALB sends — and a problem document. Equal weights go to the type
 * the client listed first; an Accept that takes neither gets ALB's page.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const chosen = new Negotiator({ headers: { accept } }).mediaType(['text/html', PROBLEM_JSON, 'application/json']);
  return chosen === PROBLEM_JSON || chosen === 'application/json';
}

const DETAIL: Record<number, string> = {
  400: 'The load balancer could not parse the request.',
  405: 'The load balancer does not accept this method.',
  408: 'The request was not received within the idle timeout.',
  417: 'The load balancer can meet no expectation but 100-continue.',
  500: 'The load balancer failed while handling the request; no target is at fault.',
  501: 'The request used a Transfer-Encoding other than chunked or identity.',
  502: 'The target returned an invalid response, or closed the connection before answering.',
  503: 'No target is registered to serve this request. Retry later.',
  504: 'The target did not answer in time. The request may have been processed: check before retrying.',
};

export interface ErrorPage {
  contentType: string;
  body: string;
}

/**
 * The body of a failure the gateway answers itself: ALB's HTML page; or, with Receipt's extras on (`receipt start`),
 * a problem document when the client prefers JSON — an addition of this project's, which ALB never sends.
 */
export function errorPage(status: number, accept: string | undefined, requestId: string, reason: string, extras = false): ErrorPage {
  if (extras && prefersJson(accept)) {
    const problem = makeProblem(status, { type: `gateway-${reason.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}`, detail: DETAIL[status] ?? albPhrase(status) });
    return { contentType: PROBLEM_JSON, body: JSON.stringify({ ...problem, request_id: requestId, reason }) };
  }
  return { contentType: 'text/html', body: albHtml(status) };
}
