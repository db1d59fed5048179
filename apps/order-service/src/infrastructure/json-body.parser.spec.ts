import { MAX_BODY_DEPTH, jsonNestsDeeperThan } from './json-body.parser.js';

const deeper = (text: string, max: number) => jsonNestsDeeperThan(Buffer.from(text), max);

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays alike', () => {
    expect(deeper('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(deeper('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(deeper('1', 0)).toBe(false);
    expect(deeper('{}', 0)).toBe(true);
  });

  it('counts siblings once, not their sum', () => {
    expect(deeper(`[${Array.from({ length: 1_000 }, () => '{"a":[1]}').join(',')}]`, 3)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(deeper(`{"a":"${'[{'.repeat(100)}"}`, 1)).toBe(false);
    expect(deeper(`{"a":"\\"${'['.repeat(100)}\\\\"}`, 1)).toBe(false);
    expect(deeper(`{"a":"\\\\","b":[[1]]}`, 2)).toBe(true);
  });

  it('reads multi-byte characters as they are', () => {
    expect(deeper('{"名前":"[請求🚕]","a":{"b":1}}', 2)).toBe(false);
  });

  it('answers for any depth without recursion, stopping at the limit', () => {
    const body = Buffer.from(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
    expect(jsonNestsDeeperThan(body, MAX_BODY_DEPTH)).toBe(true);
  });

  it('allows the deepest payload the engine takes, inside the request around it', () => {
    const payload = (depth: number) => `${'{"a":'.repeat(depth - 1)}{"driverId":"d-1"}${'}'.repeat(depth - 1)}`;
    expect(deeper(`{"event":"ACCEPT","requestId":"r-1","payload":${payload(MAX_BODY_DEPTH - 1)}}`, MAX_BODY_DEPTH)).toBe(false);
    expect(deeper(`{"event":"ACCEPT","requestId":"r-1","payload":${payload(MAX_BODY_DEPTH)}}`, MAX_BODY_DEPTH)).toBe(true);
  });
});
