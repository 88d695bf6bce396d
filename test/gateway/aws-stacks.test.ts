/**
 * Stacks as people write them: a master stack of nested stacks laid out like AWS's ECS reference architecture (the
 * load balancer in one nested stack, each service's target group and rule in its own, the listener passed between
 * them through Outputs), the load-balancer stack alone, a nested stack whose template is not beside its parent, and
 * `cdk synth`'s output folder with a nested stack and an Fn::ImportValue between two stacks — each driven over real
 * sockets through the gateway it becomes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fromCloudFormation, loadStacks, type ImportOptions } from '../../src/gateway/aws/index.ts';
import type { StackSources } from '../../src/gateway/aws/stacks.ts';
import { gatewayUnderTest } from '../support/gateway.ts';
import { httpTarget, type HttpTarget } from '../support/http-target.ts';

const NESTED = 'test/fixtures/aws/nested';
let catalog: HttpTarget;
let storefront: HttpTarget;
before(async () => {
  catalog = await httpTarget('catalog');
  storefront = await httpTarget('storefront');
});
after(async () => {
  await catalog.close();
  await storefront.close();
});

const load = (s: StackSources, o: Omit<ImportOptions, 'listenPorts'>) => {
  const { template, source } = loadStacks(s);
  return fromCloudFormation(template, { ...o, listenPorts: { 80: 0 } }, source);
};

async function answers(config: Parameters<typeof gatewayUnderTest>[0], paths: string[]): Promise<string[]> {
  const g = await gatewayUnderTest(config);
  try {
    const out: string[] = [];
    for (const p of paths) {
      const res = await request(g.url + p);
      const body = await res.body.text();
      out.push(`${res.statusCode} ${/"target":"(\w+)"/.exec(body)?.[1] ?? body}`);
    }
    return out;
  } finally {
    await g.close();
  }
}

describe('nested stacks', () => {
  it('a master stack runs as one load balancer with every service’s rule, the listener passed through Outputs', async () => {
    const imported = load(
      { files: [path.join(NESTED, 'master.yaml')] },
      { map: { 'CatalogService.TargetGroup': [`127.0.0.1:${catalog.port}`], 'StorefrontService.TargetGroup': [`127.0.0.1:${storefront.port}`] } },
    );
    assert.deepEqual(imported.unsupported, []);
    assert.equal(imported.config.idleTimeoutMs, 7000);
    assert.deepEqual(imported.config.listeners[0]!.rules!.map((r) => r.priority).sort(), [2, 3]);
    // The default target group's Name came from the parent's AWS::StackName through a parameter.
    assert.ok(imported.config.targetGroups.some((g) => g.name === 'local-default'), JSON.stringify(imported.config.targetGroups.map((g) => g.name)));
    assert.deepEqual(await answers(imported.config, ['/products/42', '/cart', '/']), ['200 catalog', '200 storefront', '200 storefront']);
  });

  it('the load-balancer stack alone starts; a parameter its parent would pass names itself and what to pass', () => {
    const imported = load({ files: [path.join(NESTED, 'infrastructure/load-balancers.yaml')] }, { map: {} });
    const text = imported.unsupported.join('\n');
    assert.match(text, /DefaultTargetGroup\.Properties\.Name: parameter EnvironmentName has no value \(no Default\) cannot be resolved locally — pass --parameter EnvironmentName=…/);
    // The load balancer's Name is AWS-side only: no complaint about it.
    assert.doesNotMatch(text, /LoadBalancer\.Properties\.Name/);
    assert.equal(imported.config.listeners.length, 1);
  });

  it('a nested stack not beside its parent is named with --template-url, and found with it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-nested-'));
    try {
      fs.copyFileSync(path.join(NESTED, 'master.yaml'), path.join(dir, 'master.yaml'));
      const map = { 'CatalogService.TargetGroup': [`127.0.0.1:${catalog.port}`], 'StorefrontService.TargetGroup': [`127.0.0.1:${storefront.port}`] };
      assert.throws(() => load({ files: [path.join(dir, 'master.yaml')] }, { map: {} }), /no load-balancer resources/);
      const urls = Object.fromEntries(
        ['infrastructure/network.yaml', 'infrastructure/load-balancers.yaml', 'services/catalog/service.yaml', 'services/storefront/service.yaml'].map((p) => [`https://s3.amazonaws.com/example-bucket/${p}`, path.join(NESTED, p)]),
      );
      // Without the network stack, its outputs are unknown: named, and the rest still runs.
      const partial = load({ files: [path.join(dir, 'master.yaml')], templateUrls: { ...urls, 'https://s3.amazonaws.com/example-bucket/infrastructure/network.yaml': '' } }, { map });
      assert.match(partial.notes.join('\n'), /Network: nested stack https:\/\/s3\.amazonaws\.com\/example-bucket\/infrastructure\/network\.yaml not found beside .*master\.yaml — pass --template-url/);
      const full = load({ files: [path.join(dir, 'master.yaml')], templateUrls: urls }, { map });
      assert.deepEqual(await answers(full.config, ['/products/1', '/x']), ['200 catalog', '200 storefront']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cdk synth output (cdk.out)', () => {
  it('every stack of the manifest, a nested stack by its asset path, and Fn::ImportValue between stacks', async () => {
    const imported = load({ files: ['test/fixtures/aws/cdk.out'] }, { map: { 'AppStack.ApiTargetGroupC0FFEE01': [`127.0.0.1:${catalog.port}`] } });
    assert.deepEqual(imported.unsupported, []);
    assert.deepEqual(await answers(imported.config, ['/api/orders', '/elsewhere']), ['200 catalog', '404 no route']);
  });
});

describe('receipt gateway with nested stacks (the command)', () => {
  it('follows master.yaml’s nested stacks and routes to each service', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-nested-cli-'));
    const child = spawn(
      process.execPath,
      [path.resolve('bin/receipt.js'), 'gateway', '--cloudformation', path.join(NESTED, 'master.yaml'), '--map', `CatalogService.TargetGroup=127.0.0.1:${catalog.port}`, '--map', `StorefrontService.TargetGroup=127.0.0.1:${storefront.port}`, '--listen', '80=0', '--control-port', '0', '--data-dir', dir],
      { env: { ...process.env, NO_COLOR: '1' } },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listeners +(http:\/\/\S+)/.exec(out);
          if (m && /control +http/.test(out)) resolve(m[1]!);
        });
        child.on('close', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      assert.match(await (await request(url + '/products/1')).body.text(), /"target":"catalog"/);
      assert.match(await (await request(url + '/basket')).body.text(), /"target":"storefront"/);
    } finally {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
