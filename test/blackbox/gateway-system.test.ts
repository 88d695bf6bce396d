/**
 * The whole system (as `receipt start` runs it) through the gateway: two shop target processes behind it, the control plane
 * killing (SIGKILL) and restarting a real target process, draining, faults and metrics. Runs in CI on the embedded
 * database and on the machine's PostgreSQL (DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { problem } from '../support/assert.ts';
import { eventually, fastHealthChecks, systemUnderTest, type SystemUnderTest } from '../support/system.ts';

let t: SystemUnderTest;
let control: (method: string, path: string, body?: unknown, token?: string) => Promise<{ status: number; body: string; json(): any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

before(async () => {
  t = await systemUnderTest(
    { TARGETS: '2', CONTROL_TOKEN: 'test-token' },
    // Fast health checks so a killed target is noticed within a second.
    { gatewayConfig: fastHealthChecks({ idleTimeoutMs: 5000, deregistrationDelayMs: 1000 }) },
  );
  control = async (method, path, body, token = 'test-token') => {
    const res = await request(t.system.controlUrl + path, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text, json: () => JSON.parse(text) };
  };
});
after(() => t.stop());

const states = async () => Object.fromEntries(((await control('GET', '/targets')).json() as Array<{ id: string; state: string; process: string }>).map((x) => [x.id, `${x.state}/${x.process}`]));

describe('the control plane', () => {
  it('needs the token (401 + WWW-Authenticate) except on /healthz, which is 200 once a target is healthy', async () => {
    const denied = await control('GET', '/targets', undefined, 'wrong');
    assert.equal(denied.status, 401);
    await eventually(async () => (await request(t.system.controlUrl + '/healthz')).statusCode === 200, 5000, 'ready');
  });

  it('lists the targets with ALB states and their processes', async () => {
    await eventually(async () => Object.values(await states()).every((s) => s === 'healthy/running'), 5000, 'both healthy');
    assert.deepEqual(Object.keys(await states()).sort(), ['shop-1', 'shop-2']);
    const [first] = (await control('GET', '/targets')).json() as Array<{ last_health_check: { status: number; at: string } }>;
    assert.equal(first!.last_health_check.status, 200);
  });
});

describe('killing and starting a target process', () => {
  it('kill: the target really dies; the gateway stops routing to it once unhealthy; start: it comes back healthy', async () => {
    const killed = await control('POST', '/targets/shop-1/kill');
    assert.equal(killed.json().process, 'stopped');
    await eventually(async () => (await states())['shop-1'] === 'unhealthy/stopped', 5000, 'shop-1 unhealthy');
    // Everything now goes to shop-2.
    for (let i = 0; i < 6; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 200);
    const started = await control('POST', '/targets/shop-1/start');
    assert.equal(started.json().process, 'running');
    await eventually(async () => (await states())['shop-1'] === 'healthy/running', 5000, 'shop-1 healthy again');
    const log = (await import('node:fs')).readFileSync(t.system.accessLogFile, 'utf8');
    assert.ok(log.includes('"GET http://'), 'the access log file is written');
  });

  it('while a killed target is still thought healthy, requests to it fail as 502 (connection refused), not hang', async () => {
    await control('POST', '/targets/shop-2/kill');
    const statuses = new Set<number>();
    for (let i = 0; i < 4; i++) statuses.add((await t.call('GET', '/products/42')).statusCode);
    for (const s of statuses) assert.ok(s === 200 || s === 502, `got ${s}`);
    await control('POST', '/targets/shop-2/start');
    await eventually(async () => (await states())['shop-2'] === 'healthy/running', 5000, 'shop-2 healthy again');
  });

  it('draining a target: 202, then draining, then unused; the other keeps serving', async () => {
    const res = await control('POST', '/targets/shop-2/drain');
    assert.equal(res.status, 202);
    assert.equal(res.json().state, 'draining');
    for (let i = 0; i < 4; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 200);
    await eventually(async () => (await states())['shop-2'] === 'unused/running', 3000, 'unused');
    await control('POST', '/targets/shop-2/start');
  });
});

describe('faults through the control plane', () => {
  it('PUT merges, GET reads, DELETE clears; a bad fault is 400', async () => {
    const alice = await t.bearer('alice'); // before the fault: signing in needs the database too
    assert.equal((await control('PUT', '/faults', { db_pool_exhausted: true })).status, 200);
    const { payment_breaker: breakers, ...doc } = (await control('GET', '/faults')).json();
    assert.deepEqual(doc, { db_pool_exhausted: true });
    assert.deepEqual(Object.keys(breakers).sort(), ['shop-1', 'shop-2'], 'each target’s payment breaker beside the faults');
    await eventually(async () => (await t.call('GET', '/orders', { headers: alice })).statusCode === 503, 5000, '503');
    let res = await t.call('GET', '/products/42');
    await eventually(async () => (res = await t.call('GET', '/products/42')).statusCode === 503, 5000, '503 on every target');
    problem(res, 503);
    assert.equal((await control('DELETE', '/faults')).status, 204);
    await eventually(async () => (await t.call('GET', '/products/42')).statusCode === 200, 5000, 'recovery');
    assert.equal((await control('PUT', '/faults', { payment_failure_rate: 2 })).status, 400);
  });

  it('a PUT answers once every living process follows it: the very next request to each target sees the fault; a killed target does not hold it up', async () => {
    const put = await control('PUT', '/faults', { maintenance: true });
    assert.equal(put.status, 200);
    assert.equal(put.json().not_yet_applied_by, undefined);
    // No waiting: round robin sends these to both targets, and each already follows the document.
    for (let i = 0; i < 4; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 503, `request ${i}`);
    assert.equal((await control('DELETE', '/faults')).status, 204);
    for (let i = 0; i < 4; i++) assert.equal((await t.call('GET', '/products/42')).statusCode, 200, `request ${i} after DELETE`);

    // A process that died took its LISTEN connection with it: it is not waited for.
    await control('POST', '/targets/shop-2/kill');
    try {
      const again = await control('PUT', '/faults', { payment_latency_ms: 1 });
      assert.equal(again.status, 200);
      assert.equal(again.json().not_yet_applied_by, undefined);
    } finally {
      await control('DELETE', '/faults');
      await control('POST', '/targets/shop-2/start');
      await eventually(async () => (await states())['shop-2'] === 'healthy/running', 10000, 'shop-2 healthy again');
    }
  });

  it('target_latency_ms past the idle timeout: the gateway answers 504', async () => {
    await control('PUT', '/faults', { target_latency_ms: 6000 });
    try {
      await eventually(async () => (await t.call('GET', '/products/42', { headers: { accept: 'application/json' } })).statusCode === 504, 15000, 'the 504');
    } finally {
      await control('DELETE', '/faults');
    }
  });

  it('malformed_target: that target answers broken HTTP, the gateway answers 502 for it, the other target serves', async () => {
    await control('PUT', '/faults', { malformed_target: 'shop-1' });
    try {
      const seen = new Set<number>();
      await eventually(async () => {
        seen.add((await t.call('GET', '/products/42')).statusCode);
        return seen.has(502) && seen.has(200);
      }, 5000, 'a 502 from shop-1 and a 200 from shop-2');
      const text = (await control('GET', '/metrics')).body;
      assert.match(text, /elb_status_code="502",target_status_code="-",target="127\.0\.0\.1:\d+",rule="0",error_reason="TargetMalformedResponse"/);
    } finally {
      await control('DELETE', '/faults');
    }
  });

  it('/metrics counts requests by gateway and target status, and health checks', async () => {
    const text = (await control('GET', '/metrics')).body;
    assert.match(text, /receipt_gateway_requests_total\{elb_status_code="200",target_status_code="200"/);
    assert.match(text, /receipt_gateway_requests_total\{elb_status_code="504",target_status_code="-"/);
    assert.match(text, /receipt_gateway_health_checks_total\{target_group="shop",target="shop-1",result="pass"\}/);
    assert.match(text, /receipt_gateway_targets\{target_group="shop",state="healthy"\}/);
  });
});
