import 'reflect-metadata';
import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { ID_PATTERN } from '../ids.js';
import { CreateOrderDto, SendEventDto } from '../orders/order.dto.js';
import { ServiceValidationPipe, isPlainSendEvent, isPrototypeNamed, validationError } from './validation.pipe.js';

/** The pipe as it was: class-validator alone, with the service's options. */
const reference = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, exceptionFactory: validationError });
const pipe = new ServiceValidationPipe();
const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype, data: undefined });

/**
 * What a pipe answers for a body parsed from JSON: its value, or its error's code, message and details.
 * The value's own keys are compared in a sorted order (class-transformer's copy has the class's
 * order; the controller reads the fields by name), everything inside them as it is.
 */
async function answer(p: ValidationPipe, json: string, metatype: ArgumentMetadata['metatype'] = SendEventDto): Promise<unknown> {
  try {
    const value = (await p.transform(JSON.parse(json), body(metatype))) as Record<string, unknown>;
    return { value: JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))) };
  } catch (error) {
    const { code, message, details } = error as { code: string; message: string; details: unknown };
    return { code, message, details };
  }
}

const ids = ['"ACCEPT"', '"a.b:c_d-1"', `"${'x'.repeat(64)}"`, `"${'x'.repeat(65)}"`, '""', '"a b"', '"é"', '1', 'null', 'true', '[]', '{}', '["ACCEPT"]'];
const payloads = [undefined, '{}', '{"driverId":"d-1","n":[1,{"a":null}],"deep":{"x":{"y":"z"}}}', '[]', 'null', '"s"', '3', '{"constructor":{"a":1},"prototype":2,"b":[{"constructor":3}]}', '{"__proto__":{"polluted":1},"c":1}'];

function corpus(): string[] {
  const bodies: string[] = ['{}', '[]', '"ACCEPT"', '1', 'null', 'true', '[{"event":"ACCEPT","requestId":"r-1"}]'];
  for (const event of ids) {
    for (const requestId of ['"r-1"', ...ids.slice(3)]) {
      bodies.push(`{"event":${event},"requestId":${requestId}}`);
      bodies.push(`{"requestId":${requestId},"event":${event},"payload":{"k":1}}`);
    }
  }
  for (const expectedState of [undefined, ...ids]) {
    for (const payload of payloads) {
      const fields = ['"event":"ACCEPT"', '"requestId":"r-1"', expectedState && `"expectedState":${expectedState}`, payload && `"payload":${payload}`].filter(Boolean);
      bodies.push(`{${fields.join(',')}}`);
    }
  }
  for (const extra of ['"extra":1', '"orderId":"o-1"', '"constructor":"x"', '"__proto__":{"a":1}', '"prototype":1', '"toString":"x"']) {
    bodies.push(`{"event":"ACCEPT","requestId":"r-1",${extra}}`);
    bodies.push(`{${extra},"event":"ACCEPT"}`);
  }
  bodies.push('{"event":"ACCEPT"}', '{"requestId":"r-1"}', '{"event":"ACCEPT","requestId":"r-1","expectedState":null,"payload":null}');
  return bodies;
}

describe('ServiceValidationPipe', () => {
  it('answers every body of the corpus as class-validator does (the same value, or the same VALIDATION_FAILED), but for keys named like Object.prototype members, which it refuses', async () => {
    const bodies = corpus();
    expect(bodies.length).toBeGreaterThan(250);
    let fast = 0;
    let prototypeNamed = 0;
    for (const json of bodies) {
      const parsed = JSON.parse(json);
      const named = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.keys(parsed).filter(isPrototypeNamed) : [];
      if (named.length > 0) {
        // class-validator took toString as declared, and the stripping dropped constructor, __proto__ and prototype unsaid.
        prototypeNamed++;
        expect({ json, answer: await answer(pipe, json) }).toEqual({
          json,
          answer: { code: 'VALIDATION_FAILED', message: named.map((k) => `property ${k} should not exist`).join('; '), details: { fields: named.map((k) => ({ field: k, problems: [`property ${k} should not exist`] })) } },
        });
        continue;
      }
      if (parsed !== null && typeof parsed === 'object' && isPlainSendEvent(parsed)) fast++;
      expect({ json, answer: await answer(pipe, json) }).toEqual({ json, answer: await answer(reference, json) });
    }
    expect(prototypeNamed).toBe(8);
    // The corpus does reach the written-out check, and its refusals too.
    expect(fast).toBeGreaterThan(20);
    expect(fast).toBeLessThan(bodies.length / 2);
  });

  it('leaves other bodies to class-validator', async () => {
    for (const json of ['{"requestId":"r-1","bizCode":"EXPRESS","sceneId":"APP","payload":{}}', '{"requestId":"r-1","bizCode":"NOPE","sceneId":"APP","payload":{},"x":1}']) {
      expect(await answer(pipe, json, CreateOrderDto)).toEqual(await answer(reference, json, CreateOrderDto));
    }
  });

  it('knows every rule SendEventDto declares: a rule added there must be written out in isPlainSendEvent too', () => {
    const rules = getMetadataStorage()
      .getTargetValidationMetadatas(SendEventDto, '', true, false)
      .map((m) => `${m.propertyName}: ${m.name ?? m.type}${m.name === 'matches' ? (m.constraints[0] === ID_PATTERN ? ' ID_PATTERN' : ' another pattern') : ''}`)
      .sort();
    expect(rules).toEqual([
      'event: isString',
      'event: matches ID_PATTERN',
      // Absent, or checked: null is refused (isPlainSendEvent sends null on to class-validator).
      'expectedState: conditionalValidation',
      'expectedState: isString',
      'expectedState: matches ID_PATTERN',
      'payload: isObject',
      'payload: isOptional',
      'requestId: isString',
      'requestId: matches ID_PATTERN',
    ]);
  });

  it('says yes only to a plain object', () => {
    expect(isPlainSendEvent(Object.assign(Object.create(null), { event: 'A', requestId: 'r' }))).toBe(false);
    expect(isPlainSendEvent({ event: 'A', requestId: 'r' })).toBe(true);
  });
});
