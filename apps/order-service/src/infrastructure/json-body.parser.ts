import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MAX_PAYLOAD_DEPTH, ValidationFailedError } from '@order-fsm/core';

/**
 * How deep a request body may nest objects and arrays: the deepest payload the engine accepts
 * (MAX_PAYLOAD_DEPTH), inside the one object of the request around it (`{ event, requestId, payload }`).
 */
export const MAX_BODY_DEPTH = MAX_PAYLOAD_DEPTH + 1;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * True when the JSON text nests objects and arrays deeper than `max`, read byte by byte before it is
 * parsed: one loop, no recursion, and it stops at the first byte past the limit. Brackets inside
 * strings do not count. UTF-8 never puts these ASCII bytes inside a multi-byte character, so the
 * bytes can be read as they are. Text that is not JSON may be counted wrong; the parser refuses it.
 */
export function jsonNestsDeeperThan(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** The only Content-Encoding the parser reads: none at all. */
const IDENTITY = /^\s*(identity)?\s*$/i;

/**
 * The service's JSON body parser: Fastify's own (which refuses `__proto__` and `constructor.prototype`
 * keys), behind a depth check. A body nested deeper than MAX_BODY_DEPTH is VALIDATION_FAILED (400)
 * before anything builds or walks it: class-transformer and class-validator recurse, and a body of
 * 3,000 nested arrays overflowed the stack in the ValidationPipe (a 500, and a stall for every other
 * request while it unwound). A body in a Content-Encoding other than `identity` (gzip, br, ...) is
 * UNSUPPORTED_MEDIA_TYPE (415): the service decodes none, and a body declared compressed is not read
 * as if it were not.
 */
export function useJsonBodyParser(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  // Typed for text, it takes the buffer as it is (secure-json-parse reads both), as Nest's own JSON parser does.
  const parse = fastify.getDefaultJsonParser('error', 'error') as unknown as (request: unknown, body: Buffer, done: (error: Error | null, parsed?: unknown) => void) => void;
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && !IDENTITY.test(encoding)) {
      done(new UnsupportedMediaTypeException(`send the body without a Content-Encoding (or identity), not ${JSON.stringify(encoding.slice(0, 40))}`), undefined);
      return;
    }
    if (jsonNestsDeeperThan(body, MAX_BODY_DEPTH)) {
      done(
        new ValidationFailedError(`the body nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels (a payload may nest ${MAX_PAYLOAD_DEPTH})`, {
          field: 'body',
          maxDepth: MAX_BODY_DEPTH,
        }),
        undefined,
      );
      return;
    }
    parse(request, body, done);
  });
}
