import type { Registration } from './processor-registry.js';
import type { MachineDefinition } from '../model/machine.js';

/** What the registry holds that the machine does not declare: one line per problem, naming the class. */
export function checkRegistrations(
  machine: MachineDefinition,
  processors: readonly Registration<unknown>[],
  plugins: readonly Registration<unknown>[],
): string[] {
  const problems: string[] = [];
  for (const [kind, registrations] of [
    ['processor', processors],
    ['plugin', plugins],
  ] as const) {
    for (const { name, metadata } of registrations) {
      const { event, states } = metadata;
      if (!machine.events.has(event)) {
        problems.push(`${kind} ${name} handles event ${event}, which machine ${machine.name} does not declare`);
        continue;
      }
      for (const state of states ?? []) {
        if (!machine.hasState(state)) problems.push(`${kind} ${name} is registered for state ${state}, which machine ${machine.name} does not declare`);
        else if (!machine.hasEvent(state, event)) {
          problems.push(`${kind} ${name} handles ${event} in ${state}, but machine ${machine.name} declares no transition ${state} -${event}->`);
        }
      }
    }
  }
  return problems;
}
