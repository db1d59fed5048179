import { readFileSync } from 'node:fs';
import request from 'supertest';

/**
 * The callers every suite's service knows (the Jest global setup puts them in API_TOKENS, so service
 * processes started by a suite know them too): two clients, the payment service and an operator.
 */
const entries: Record<string, string> = JSON.parse(readFileSync(new URL('./test-callers.json', import.meta.url), 'utf8'));

export type TestCaller = 'client' | 'client2' | 'payment' | 'operator';

const parts = (who: TestCaller) => entries[who].split(':');
/** The name a caller has in the transition log. */
export const callerName = (who: TestCaller): string => parts(who)[0];
/** `Bearer <token>` of a test caller. */
export const bearer = (who: TestCaller): string => `Bearer ${parts(who).slice(2).join(':')}`;
/** The test caller as the engine knows it, for events sent in process. */
export const asCaller = (who: TestCaller): { name: string; role: string } => ({ name: parts(who)[0], role: parts(who)[1] });
export const API_TOKENS = Object.values(entries).join(',');

/** supertest against `url`, every request sent as `who` (a request may still set its own Authorization). */
export function callerAgent(url: string, who: TestCaller = 'client'): ReturnType<typeof request> {
  return request.agent(url).set('Authorization', bearer(who)) as unknown as ReturnType<typeof request>;
}
