// What a credential-provider workstation signs for each request, and the headers that carry it (shared by client and server).
import { createHash } from 'node:crypto';

export const CP_HEADERS = {
  mode: 'x-tessera-client-mode',
  workstation: 'x-tessera-workstation',
  timestamp: 'x-tessera-timestamp',
  nonce: 'x-tessera-nonce',
  signature: 'x-tessera-signature',
} as const;

export const CREDENTIAL_PROVIDER_MODE = 'credential-provider';

export interface SignedRequestParts {
  method: string;
  /** The request path with its query string, as sent. */
  path: string;
  /** Milliseconds since the epoch, as decimal text. */
  timestamp: string;
  /** 16 to 64 base64url characters, fresh for every request. */
  nonce: string;
  body: Uint8Array;
}

/** The bytes a workstation key signs (ECDSA P-256, SHA-256): a context string, then every part on its own line. */
export function credentialProviderMessage(parts: SignedRequestParts): Buffer {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex');
  return Buffer.from(['tessera credential-provider request v1', parts.method.toUpperCase(), parts.path, parts.timestamp, parts.nonce, bodyHash].join('\n'));
}
