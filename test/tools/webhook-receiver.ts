/**
 * A tenant's webhook receiver for the tests (not a test file itself: tap runs *.test.js only).
 *
 * A real node:https server on 127.0.0.1:0 with a certificate from a throwaway CA. It reads each
 * request's raw body, checks the signature with the same verifyWebhookSignature a Node receiver
 * would use, records what it got, and answers with whatever the current `answer` does. The
 * default answer is what docs/WEBHOOKS.md tells receivers to do: 401 on a bad signature,
 * otherwise a JSON echo of the parsed body.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerCert } from '../helpers/certs.js';
import { SIGNATURE_HEADER, verifyWebhookSignature, WebhookSignatureError } from '../../src/tools/webhook-signature.js';

export interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The verified timestamp, or why verification failed. */
  readonly verified: number | WebhookSignatureError;
  /** The response, for answers that hold it open; emits 'close' when the client cuts the connection. */
  readonly res: http.ServerResponse;
}

export type Answer = (got: Received) => void;

export const echoAnswer: Answer = (got) => {
  if (typeof got.verified !== 'number') {
    got.res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: got.verified.reason }));
    return;
  }
  got.res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ verified: true, received: JSON.parse(got.rawBody.toString('utf8')) }));
};

export class WebhookReceiver {
  readonly requests: Received[] = [];
  answer: Answer = echoAnswer;
  private readonly waiters: Array<(got: Received) => void> = [];

  private constructor(
    private readonly server: http.Server | https.Server,
    private readonly secret: string,
    readonly scheme: 'http' | 'https',
  ) {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res));
  }

  /** HTTPS with `cert`, or plain HTTP when no cert is given. */
  static async start(secret: string, cert?: ServerCert): Promise<WebhookReceiver> {
    const server = cert === undefined
      ? http.createServer()
      : https.createServer({ cert: cert.certPem, key: readFileSync(cert.keyFile) });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new WebhookReceiver(server, secret, cert === undefined ? 'http' : 'https');
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hook', host = '127.0.0.1'): string {
    return `${this.scheme}://${host}:${this.port}${path}`;
  }

  /** Resolves with the next request once its body has been read. */
  nextRequest(): Promise<Received> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    let verified: number | WebhookSignatureError;
    try {
      verified = verifyWebhookSignature(this.secret, req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined, rawBody);
    } catch (err) {
      if (!(err instanceof WebhookSignatureError)) throw err;
      verified = err;
    }
    const got: Received = { path: req.url ?? '', headers: req.headers, rawBody, verified, res };
    this.requests.push(got);
    this.answer(got);
    this.waiters.shift()?.(got);
  }

  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }
}
