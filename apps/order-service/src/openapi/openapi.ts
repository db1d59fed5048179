import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse, DocumentBuilder, getSchemaPath, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ERROR_HTTP_STATUS, OrderFsmDiagrams, type OrderFsmErrorCode } from '@order-fsm/core';
import { OPS_COMMON_ERRORS, OPS_ENDPOINTS } from '@order-fsm/core/ops';
import { documentEventBodies } from './event-schemas.js';

/** The codes a client can be answered: DUPLICATE_REQUEST never leaves the engine (it is answered as a replay). */
const ANSWERED_CODES = (Object.keys(ERROR_HTTP_STATUS) as OrderFsmErrorCode[]).filter((code) => code !== 'DUPLICATE_REQUEST');

/** What every error answers: the HTTP status, a stable code to branch on, words for people, and details. */
export class ErrorBodyDto {
  @ApiProperty({ example: 409 })
  statusCode: number;

  @ApiProperty({ enum: ANSWERED_CODES, example: 'ORDER_STATE_NOT_MATCH' })
  code: OrderFsmErrorCode;

  @ApiProperty({ example: 'order o-1 is ACCEPTED, not CREATED' })
  message: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { expectedState: 'CREATED', actualState: 'ACCEPTED' } })
  details?: Record<string, unknown>;
}

/** What each error code means to a client, shown next to it in the OpenAPI document. */
const MEANING: Record<OrderFsmErrorCode, string> = {
  VALIDATION_FAILED: 'the request is malformed (fields, ids, types, JSON); fix it, do not retry',
  UNAUTHENTICATED: 'no Authorization: Bearer token, or one the service does not know',
  FORBIDDEN: 'the caller\'s role may not do this: send this event (the machine says who may), or use this endpoint',
  NOT_FOUND: 'no such route or resource',
  METHOD_NOT_ALLOWED: 'the path exists, but not for this method; the Allow header (and details.allow) lists the methods it takes',
  REQUEST_TIMEOUT: 'the request (its headers, or the body its Content-Length promised) did not arrive in time; the connection is closed',
  ORDER_NOT_FOUND: 'no order has this id',
  ORDER_STATE_NOT_MATCH: 'expectedState is not the order\'s state',
  NOT_FOUND_PROCESSOR: 'this event is not allowed in the order\'s state for its bizCode@sceneId',
  ORDER_BUSY: 'another request holds the order; retry with the same requestId',
  ORDER_PAUSED: 'an operator paused the order; it takes no event until an operator resumes it',
  ORDER_NOT_PAUSED: 'an operator asked to resume an order that is not paused; nothing was changed',
  DEAD_LETTER_SETTLED: 'the dead letter was already redriven or discarded; nothing was changed',
  MACHINE_VERSION_NOT_SERVED: 'the order follows a version of the machine this service no longer serves, and no migration moves it on; nothing was changed',
  MACHINE_VERSION_NOT_YET_SERVED: 'the order follows a newer version of the machine than this instance serves (a deploy is under way); nothing was changed; retry with the same requestId',
  MIGRATION_NOT_DECLARED: 'an operator asked to migrate an order whose machine version has no migration declared from it; nothing was changed',
  STATE_NOT_DECLARED: 'an operator asked to force an order into a state the machine does not declare; nothing was changed',
  VERSION_CONFLICT: 'the order moved while this request ran; nothing was written; retry with the same requestId',
  DUPLICATE_REQUEST: 'internal: answered as a replay',
  PAYLOAD_TOO_LARGE: 'the body is over 64 KiB',
  UNSUPPORTED_MEDIA_TYPE: 'the body is not application/json, or is in a Content-Encoding other than identity',
  HEADERS_TOO_LARGE: 'the request headers are over 16 KiB; the connection is closed',
  CHECK_FAILED: 'a business check refused the event (details.reason says which); nothing was written',
  IDEMPOTENCY_KEY_REUSED: 'this requestId was used for a different request',
  RATE_LIMITED: 'this caller (its bearer token, or its address without one) sent more requests than RATE_LIMIT_MAX in RATE_LIMIT_WINDOW_MS; nothing was done; retry after Retry-After seconds',
  DEPENDENCY_UNAVAILABLE: 'the database, Redis or RabbitMQ is down, or the instance is shutting down; retry with the same requestId',
  FOUND_MORE_PROCESSOR: 'a server bug: two processors accept the event',
  TRANSITION_NOT_DECLARED: 'a server bug: a processor chose a transition the machine does not declare',
  INTERNAL_ERROR: 'a server bug; the details are in the log, never in the answer',
};

/** Documents the error answers of an endpoint: one response per status, listing its codes. */
export function ApiErrors(...codes: OrderFsmErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, OrderFsmErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_HTTP_STATUS[code], [...(byStatus.get(ERROR_HTTP_STATUS[code]) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, list]) =>
      // Always JSON, whatever the operation's answer is made of (an SVG, metrics).
      ApiResponse({
        status,
        description: list.map((code) => `\`${code}\`: ${MEANING[code]}`).join('; '),
        content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyDto) } } },
      }),
    ),
  );
}

/** Answers every request may get before it reaches a controller. */
export const COMMON_ERRORS: OrderFsmErrorCode[] = ['VALIDATION_FAILED', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'RATE_LIMITED', 'DEPENDENCY_UNAVAILABLE', 'INTERNAL_ERROR'];
export const BODY_ERRORS: OrderFsmErrorCode[] = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

const ERROR_TABLE = ANSWERED_CODES.map((code) => `| \`${code}\` | ${ERROR_HTTP_STATUS[code]} | ${MEANING[code]} |`)
  .join('\n');

const errorResponses = (codes: readonly OrderFsmErrorCode[]) => {
  const byStatus = new Map<number, OrderFsmErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(ERROR_HTTP_STATUS[code], [...(byStatus.get(ERROR_HTTP_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.map((code) => `\`${code}\`: ${MEANING[code]}`).join('; '),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
      },
    ]),
  );
};

/**
 * The operator API comes from the library, which carries no OpenAPI decorators: its routes are
 * described as data (OPS_ENDPOINTS) and written into the document here.
 */
function documentOperatorApi(document: OpenAPIObject): void {
  for (const endpoint of OPS_ENDPOINTS) {
    const operation = document.paths[endpoint.path]?.[endpoint.method.toLowerCase() as 'get' | 'post'];
    if (!operation) throw new Error(`the operator API has no ${endpoint.method} ${endpoint.path}: OPS_ENDPOINTS and its controller disagree`);
    operation.tags = ['ops'];
    operation.summary = endpoint.summary;
    operation.description = 'For the operator role. Bodies and answers: docs/OPERATIONS.md.';
    if (endpoint.body) operation.requestBody = { required: true, content: { 'application/json': { schema: JSON.parse(JSON.stringify(endpoint.body)) } } };
    operation.responses = {
      '200': { description: 'See docs/OPERATIONS.md', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } },
      ...errorResponses([...OPS_COMMON_ERRORS, ...endpoint.errors, 'RATE_LIMITED']),
    };
  }
}

/** Routes anyone may call: no security requirement. */
const OPEN_OPERATIONS = new Set(['GET /health']);

/**
 * Who may call each operation: the bearer token everywhere but on the open routes, and so a 401 on
 * every other operation (and 403 where a role is needed, as the controllers declare).
 */
function documentAccess(document: OpenAPIObject): void {
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods) as [string, { security?: unknown[]; responses: Record<string, unknown> }][]) {
      if (OPEN_OPERATIONS.has(`${method.toUpperCase()} ${path}`)) {
        operation.security = [];
        continue;
      }
      operation.security = [{ bearer: [] }];
      operation.responses['401'] ??= errorResponses(['UNAUTHENTICATED'])['401'];
    }
  }
}

/** OpenAPI at /docs (the UI) and /docs-json (the document). */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('order-fsm taxi order service')
    .setDescription(
      'Orders move only through the transitions the machine declares. Every write carries a `requestId`: ' +
        'the same id with the same request answers the first answer again (header `Idempotent-Replayed: true`), ' +
        'with a different request `IDEMPOTENCY_KEY_REUSED`.\n\nEvery error answers `{ statusCode, code, message, details? }`:\n\n' +
        '| code | status | meaning |\n| --- | --- | --- |\n' +
        ERROR_TABLE,
    )
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This service, where the document is served from')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'A token of API_TOKENS (`name:role:token`); `GET /health` alone needs none' })
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorBodyDto] });
  documentOperatorApi(document);
  documentAccess(document);
  // The events and their payloads come from the processors, which are found when the application
  // starts: the document is finished on its first request (and kept).
  const finished = () => {
    const diagrams = app.get(OrderFsmDiagrams);
    documentEventBodies(document, diagrams.events(), diagrams.states());
    return document;
  };
  // No validator badge: it would load an image from a third party, which the page's CSP refuses.
  SwaggerModule.setup('docs', app, finished, { jsonDocumentUrl: 'docs-json', swaggerOptions: { validatorUrl: null } });
}
