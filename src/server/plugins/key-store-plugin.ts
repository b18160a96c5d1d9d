// Fastify plugin owning the key store (key file or PKCS#11 session): opened once, closed with the app.
import fp from 'fastify-plugin';
import { openKeyStore, type KeyStore, type KeyStoreConfig } from '../keys/key-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    keyStore: KeyStore;
  }
}

export const keyStorePlugin = fp<{ config: KeyStoreConfig }>(
  async (app, { config }) => {
    const keyStore = await openKeyStore(config);
    app.addHook('onClose', async () => keyStore.close());
    app.decorate('keyStore', keyStore);
  },
  { name: 'tessera-key-store' },
);
