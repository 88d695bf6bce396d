/**
 * A certificate authority for mutual-TLS tests, made with the openssl command: its CA certificate, client
 * certificates it signs (valid, expired, or revoked), and its revocation list (CRL).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ClientCert {
  key: string;
  cert: string;
}

export interface ClientCa {
  dir: string;
  /** The CA certificate (PEM): the trust store's bundle. */
  ca: string;
  caFile: string;
  /** A client certificate signed by this CA; `expired` dates it in the past. */
  issue(commonName: string, o?: { expired?: boolean }): ClientCert;
  /** Revokes a certificate it issued and returns the new CRL (PEM). */
  revoke(cert: ClientCert): string;
  /** The CRL (PEM), written to `crlFile`. */
  crl(): string;
  crlFile: string;
  remove(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export function clientCa(name: string): ClientCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-ca-'));
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = local',
      '[local]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir',
      'certificate = $dir/ca.pem',
      'private_key = $dir/ca.key',
      'crlnumber = $dir/crlnumber',
      'default_md = sha256',
      'default_crl_days = 7',
      'policy = any',
      'copy_extensions = none',
      'unique_subject = no',
      'rand_serial = yes',
      '[any]',
      'commonName = supplied',
      'organizationName = optional',
      '[client]',
      'basicConstraints = CA:FALSE',
      'keyUsage = digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '7', '-subj', `/O=Receipt Tests/CN=${name}`], dir);
  let n = 0;
  const ca: ClientCa = {
    dir,
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    caFile: path.join(dir, 'ca.pem'),
    crlFile: path.join(dir, 'crl.pem'),
    issue(commonName, o = {}) {
      const base = `client${++n}`;
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=Receipt, Inc./CN=${commonName}`], dir);
      const dates = o.expired ? ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z'] : ['-days', '7'];
      openssl(['ca', '-batch', '-config', 'ca.cnf', '-extensions', 'client', '-in', `${base}.csr`, '-out', `${base}.pem`, '-notext', ...dates], dir);
      return { key: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${base}.pem`), 'utf8') };
    },
    revoke(cert) {
      const file = path.join(dir, `revoke-${++n}.pem`);
      fs.writeFileSync(file, cert.cert);
      openssl(['ca', '-batch', '-config', 'ca.cnf', '-revoke', file], dir);
      return ca.crl();
    },
    crl() {
      openssl(['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem'], dir);
      return fs.readFileSync(path.join(dir, 'crl.pem'), 'utf8');
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  return ca;
}
