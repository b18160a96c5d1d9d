// A real SMTP listener on loopback (npm smtp-server) that keeps every message it receives, for tests to read.
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw message (headers and body) as it arrived. */
  raw: string;
}

export interface TestSmtp {
  host: string;
  port: number;
  received: ReceivedMail[];
  /** Waits until `count` messages have arrived (or fails after a few seconds). */
  waitFor(count: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

export interface TestSmtpOptions {
  /** Offer STARTTLS with this certificate (PEM) and key. */
  tls?: { cert: string; key: string };
  /** Require AUTH PLAIN/LOGIN with these credentials. */
  auth?: { user: string; password: string };
}

export async function startTestSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: options.auth === undefined,
    disabledCommands: options.tls === undefined ? ['STARTTLS'] : [],
    ...(options.tls !== undefined ? { cert: options.tls.cert, key: options.tls.key } : {}),
    // Lets the test server accept AUTH over the loopback connection only once STARTTLS is done (nodemailer upgrades first).
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth !== undefined && auth.username === options.auth.user && auth.password === options.auth.password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    host: '127.0.0.1',
    port,
    received,
    async waitFor(count) {
      for (let i = 0; i < 100 && received.length < count; i++) await new Promise((r) => setTimeout(r, 50));
      return received;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
