// The SMTP sink (the one module that uses nodemailer): sends a message through the configured server, STARTTLS,
// TLS or (a local relay only) plain; the password comes from a secret file or BIRDWATCH_SMTP_PASSWORD.
import nodemailer from 'nodemailer';
import type { SmtpConfig } from '../config/schema.js';
import { readSecret } from './secrets.js';

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Inline images the HTML refers to as cid:<cid>. */
  attachments: Array<{ filename: string; content: Buffer; cid: string; contentType: string }>;
}

/** Sends it; resolves with the server's message id. Throws what the server or the connection said. */
export async function sendMail(smtp: SmtpConfig, message: MailMessage): Promise<string> {
  const password = readSecret({ key: 'smtp.passwordFile', file: smtp.passwordFile, env: 'BIRDWATCH_SMTP_PASSWORD' });
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    auth: smtp.user === undefined ? undefined : { user: smtp.user, pass: password },
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    connectionTimeout: 30_000,
  });
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      attachments: message.attachments,
      textEncoding: 'base64',
    });
    return info.messageId;
  } finally {
    transport.close();
  }
}
