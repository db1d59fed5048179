import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { API_SECURITY_HEADER_OPTIONS, SECURITY_HEADER_OPTIONS, securityHeadersOf } from './http-boundary.js';

/** What helmet's own middleware sets on a real answer of a node:http server, by lowercased name. */
async function helmetOnARealAnswer(options: Parameters<typeof helmet>[0]): Promise<Record<string, string>> {
  const middleware = helmet(options);
  const server = createServer((req, res) => middleware(req, res, () => res.end('{}')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await response.text();
    const headers: Record<string, string> = {};
    // Node's own headers, not helmet's.
    for (const [name, value] of response.headers) if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)) headers[name] = value;
    return headers;
  } finally {
    server.close();
  }
}

describe('securityHeadersOf', () => {
  it("works out exactly the headers helmet's middleware sets on a real answer, for the service's options", async () => {
    const worked = securityHeadersOf(SECURITY_HEADER_OPTIONS);
    expect(worked).toEqual(await helmetOnARealAnswer(SECURITY_HEADER_OPTIONS));
    expect(worked).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy': expect.stringContaining("script-src 'self'"),
    });
    expect(worked['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });

  it("works out OWASP's REST set for JSON answers, and nothing only an HTML document heeds", async () => {
    const worked = securityHeadersOf(API_SECURITY_HEADER_OPTIONS);
    expect(worked).toEqual(await helmetOnARealAnswer(API_SECURITY_HEADER_OPTIONS));
    expect(worked).toEqual({
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
  });

  it("lets a page's set replace every header of the API set, which every request gets first", () => {
    const page = securityHeadersOf(SECURITY_HEADER_OPTIONS);
    for (const name of Object.keys(securityHeadersOf(API_SECURITY_HEADER_OPTIONS))) expect(page).toHaveProperty(name);
  });

  it("follows helmet's defaults and switches too", async () => {
    for (const options of [{}, { hsts: false, xFrameOptions: { action: 'sameorigin' as const } }, { contentSecurityPolicy: false }]) {
      expect(securityHeadersOf(options)).toEqual(await helmetOnARealAnswer(options));
    }
    expect(securityHeadersOf({ hsts: false })['strict-transport-security']).toBeUndefined();
  });

  it('refuses a policy that depends on the request, which cannot be worked out once', () => {
    const nonce = () => "'nonce-abc'";
    expect(() => securityHeadersOf({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'", nonce] } } })).toThrow(/depends on the request/);
    // As a caller without the types could write it.
    const bare = { contentSecurityPolicy: { directives: { scriptSrc: nonce } } } as unknown as Parameters<typeof securityHeadersOf>[0];
    expect(() => securityHeadersOf(bare)).toThrow(/depends on the request/);
    // helmet takes any iterable of sources.
    const inASet = { contentSecurityPolicy: { directives: { scriptSrc: new Set(["'self'", nonce]) } } } as unknown as Parameters<typeof securityHeadersOf>[0];
    expect(() => securityHeadersOf(inASet)).toThrow(/depends on the request/);
  });

  it('passes on what helmet refuses in its options', () => {
    expect(() => securityHeadersOf({ contentSecurityPolicy: { directives: { 'default-src': ['self'] } } })).toThrow();
  });

  it('gives a frozen set, which no answer can change for the next', () => {
    expect(Object.isFrozen(securityHeadersOf(SECURITY_HEADER_OPTIONS))).toBe(true);
  });
});
