// Outgoing e-mail through nodemailer over SMTP; with no SMTP server configured, e-mail is off and says so.
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Secret } from '../../secret.ts';
import { EmailDeliveryError, EmailOffError, IdentityConfigurationError } from './identity-errors.ts';

export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  requireTls?: boolean;
  caFile?: string;
  user?: string;
  password?: Secret;
  /** The From: address, e.g. `Tessera <tessera@example.org>`. */
  from: string;
  connectTimeoutMs?: number;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly enabled: boolean;
  /** Throws ERR_EMAIL_OFF when e-mail is off, ERR_EMAIL_DELIVERY when the SMTP server refuses. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export class SmtpMailer implements Mailer {
  readonly enabled = true;
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(config: SmtpConfig) {
    let ca: string | undefined;
    if (config.caFile !== undefined) {
      try {
        ca = readFileSync(config.caFile, 'utf8');
      } catch (error) {
        throw new IdentityConfigurationError(`smtp.caFile ${config.caFile} cannot be read`, { cause: error });
      }
    }
    this.#from = config.from;
    this.#transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure ?? false,
      requireTLS: config.requireTls ?? false,
      ...(config.user !== undefined ? { auth: { user: config.user, pass: config.password?.exposeText() ?? '' } } : {}),
      tls: { ...(ca !== undefined ? { ca } : {}), minVersion: 'TLSv1.2' },
      connectionTimeout: config.connectTimeoutMs ?? 5000,
      greetingTimeout: config.connectTimeoutMs ?? 5000,
      socketTimeout: 10_000,
    });
  }

  async send(message: MailMessage): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#from, to: message.to, subject: message.subject, text: message.text });
    } catch (error) {
      // The SMTP error text may quote the message: keep it as the cause only (never sent to a client).
      throw new EmailDeliveryError('the SMTP server did not accept the e-mail', { cause: error });
    }
  }

  close(): void {
    this.#transport.close();
  }
}

export class MailOff implements Mailer {
  readonly enabled = false;

  async send(): Promise<void> {
    throw new EmailOffError('e-mail is off: no SMTP server is configured (smtp in the server configuration)');
  }

  close(): void {}
}

export function createMailer(config: SmtpConfig | undefined): Mailer {
  return config === undefined ? new MailOff() : new SmtpMailer(config);
}
