/**
 * Test only, off unless `TAXI_TEST_KILL_AT` is set: the fault suite's way to kill this process with
 * SIGKILL at a chosen point of one passenger's CREATE, to prove what a crash there leaves behind
 * (test/faults/create-crash.fault-spec.ts). The value is `<point>:<passengerId>`, the point one of
 *
 * - `action`: before the transaction opens;
 * - `save`: inside the open transaction, after the passenger's active-ride row is written;
 * - `after`: committed, before the client has its answer.
 *
 * Never set it outside the tests.
 */
export type KillPoint = 'action' | 'save' | 'after';

const chosen = process.env.TAXI_TEST_KILL_AT;
const separator = chosen?.indexOf(':') ?? -1;
const killPoint = separator > 0 ? chosen!.slice(0, separator) : undefined;
const killPassenger = separator > 0 ? chosen!.slice(separator + 1) : undefined;

export function killIfChosen(point: KillPoint, passengerId: string): void {
  if (killPoint === point && killPassenger === passengerId) process.kill(process.pid, 'SIGKILL');
}
