/** Certificates for TLS tests: self-signed, for the names given (the first is the common name), RSA or ECDSA. */
import { generate } from 'selfsigned';
import type { KeyPair } from '../../src/gateway/tls-policy.ts';

export async function certificateFor(names: string[], keyType: 'rsa' | 'ec' = 'rsa'): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType,
    ...(keyType === 'rsa' ? { keySize: 2048 } : {}),
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 7 * 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) }],
  });
  return { key: pems.private, cert: pems.cert };
}
