// Requests Node's HTTP parser refuses before Fastify sees them (a request line or headers over
// the 16 KiB limit, malformed HTTP, a client too slow to send its headers) still answer in the
// API's error shape, with what to do, instead of Fastify's generic body.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { body } from './domain/errors';

const MESSAGES: Record<number, [code: string, message: string]> = {
  431: [
    'HEADERS_TOO_LARGE',
    'The URL and headers are larger than the server reads (16 KiB). Send fewer product codes per request (1,000 short codes fit), split the list, or start a sync with scope.product_codes in a POST body.',
  ],
  408: ['REQUEST_TIMEOUT', 'The request was not received in time; send it again.'],
  400: ['BAD_REQUEST', 'The request is not valid HTTP/1.1 and could not be read.'],
};

/** Fastify's `clientErrorHandler`: answers once in `{success:false, error}` and closes the connection. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const [code, message] = MESSAGES[status] as [string, string];
  const text = JSON.stringify(body(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(err);
}
