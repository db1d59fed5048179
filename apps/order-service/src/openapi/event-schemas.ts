import type { OpenAPIObject } from '@nestjs/swagger';
import type { EventDescription, PayloadSchema } from '@order-fsm/core';
import { ID_PATTERN } from '../ids.js';

type Schema = Record<string, unknown>;

const ID = { type: 'string', pattern: ID_PATTERN.source, minLength: 1, maxLength: 64 };

/** A schema as plain JSON: a schema builder's own (symbol) keys left out. */
const plain = (schema: PayloadSchema): Schema => JSON.parse(JSON.stringify(schema)) as Schema;

/** Each distinct payload schema once, in components, named by its title; a reference to it. */
function refTo(document: OpenAPIObject, schema: PayloadSchema, fallbackName: string): Schema {
  const json = plain(schema);
  const name = typeof json.title === 'string' ? json.title : fallbackName;
  const schemas = (document.components!.schemas ??= {}) as Record<string, Schema>;
  if (schemas[name] && JSON.stringify(schemas[name]) !== JSON.stringify(json)) throw new Error(`two payload schemas are titled ${name}: give each its own title`);
  schemas[name] = json;
  return { $ref: `#/components/schemas/${name}` };
}

/** What an event's processors take: their one schema, or any of theirs; an object of any shape when one declares none. */
function payloadOf(document: OpenAPIObject, event: EventDescription): { schema: Schema; required: boolean } {
  if (event.payloads.length === 0 || event.undeclared.length > 0) {
    const why = event.undeclared.length > 0 ? `${event.undeclared.join(', ')} declare(s) no payload schema` : 'no processor takes this event';
    return { schema: { type: 'object', additionalProperties: true, description: why }, required: false };
  }
  const refs = event.payloads.map((p, i) => refTo(document, p.schema, `${event.event}Payload${i + 1}`));
  const required = event.payloads.some((p) => Array.isArray(p.schema.required) && p.schema.required.length > 0);
  return { schema: refs.length === 1 ? refs[0] : { anyOf: refs }, required };
}

/** The events a caller of POST /orders/{orderId}/events may send: declared by a served version, sent by a role (not the service itself), not CREATE's. */
export function sendableEvents(events: readonly EventDescription[]): EventDescription[] {
  return events.filter((e) => !e.creates && (e.sentBy === undefined || e.sentBy.some((sender) => sender !== 'system')));
}

/**
 * The bodies of the order endpoints as the machine says: POST /orders/{orderId}/events takes one of
 * the events a caller may send, each with the payload its processors declare (a oneOf told apart by
 * `event`), and POST /orders the payload of CREATE. A generated client then refuses an event the
 * machine does not have and a payload its processor does not take.
 */
export function documentEventBodies(document: OpenAPIObject, events: readonly EventDescription[], states: readonly string[]): void {
  const schemas = document.components!.schemas as Record<string, Schema>;
  const base = schemas.SendEventDto as { properties: Record<string, Schema> };
  const variants: Record<string, string> = {};
  for (const event of sendableEvents(events)) {
    const name = `SendEvent${event.event}`;
    const payload = payloadOf(document, event);
    const who = event.sentBy ? `sent by ${event.sentBy.filter((s) => s !== 'system').join(' or ')}` : 'sent by any caller';
    schemas[name] = {
      type: 'object',
      title: name,
      description: `${event.event}, ${who}; machine version(s) ${event.versions.join(', ')}`,
      required: ['event', 'requestId', ...(payload.required ? ['payload'] : [])],
      properties: {
        event: { type: 'string', enum: [event.event] },
        requestId: { ...ID, description: base.properties.requestId.description },
        expectedState: { type: 'string', enum: states, description: base.properties.expectedState.description },
        payload: payload.schema,
      },
    };
    variants[event.event] = `#/components/schemas/${name}`;
  }
  schemas.SendEventDto = {
    description: 'One event the machine declares (any served version), with the payload its processors take',
    oneOf: Object.values(variants).map(($ref) => ({ $ref })),
    discriminator: { propertyName: 'event', mapping: variants },
  };
  // An operator may send any event the machines declare (their sentBy does not apply to operators).
  const opsBody = (document.paths['/ops/orders/{orderId}/events']?.post?.requestBody as { content: Record<string, { schema: { properties: Record<string, Schema> } }> } | undefined)?.content['application/json'].schema;
  if (opsBody) opsBody.properties.event = { type: 'string', enum: events.map((e) => e.event), description: opsBody.properties.event.description };
  const create = events.find((e) => e.creates);
  if (create) {
    const createDto = schemas.CreateOrderDto as { properties: Record<string, Schema> };
    const payload = payloadOf(document, create);
    const description = createDto.properties.payload.description;
    createDto.properties.payload = '$ref' in payload.schema ? { allOf: [payload.schema], description } : { ...payload.schema, description };
  }
}
