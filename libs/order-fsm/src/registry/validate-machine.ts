import type { RegistrationMetadata } from '../processor/registration.js';
import { overridesFilter, type AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import type { Registration } from './processor-registry.js';
import { ANY } from '../order-fsm.constants.js';
import { checkRegistrations } from './check-registrations.js';
import type { MachineDefinition } from '../model/machine.js';

export type MachineIssueCode =
  | 'UNDECLARED_REGISTRATION'
  | 'DEAD_END_STATE'
  | 'OVERLAPPING_PROCESSORS'
  | 'UNREACHABLE_STATE'
  | 'TRANSITION_WITHOUT_PROCESSOR'
  | 'PLUGIN_WITHOUT_PROCESSOR'
  | 'EVENT_WITHOUT_SENDER'
  | 'SYSTEM_CANNOT_SEND'
  | 'SENDERS_UNDECLARED'
  | 'MIGRATION_STATE_UNMAPPED'
  | 'MIGRATION_TARGET_UNDECLARED'
  | 'MIGRATION_NOT_FORWARD'
  | 'VERSION_NOT_SERVED'
  | 'COMPENSATION_MISSING'
  | 'COMPENSATION_UNUSED';

export interface MachineIssue {
  /** An error stops the service at bootstrap (and the CLI with exit 1); a warning is reported. */
  readonly severity: 'error' | 'warning';
  readonly code: MachineIssueCode;
  readonly message: string;
  /** The machine version the issue is about, when the service serves several. */
  readonly version?: number;
}

const SEVERITY: Record<MachineIssueCode, MachineIssue['severity']> = {
  UNDECLARED_REGISTRATION: 'error',
  DEAD_END_STATE: 'error',
  OVERLAPPING_PROCESSORS: 'error',
  UNREACHABLE_STATE: 'warning',
  TRANSITION_WITHOUT_PROCESSOR: 'warning',
  PLUGIN_WITHOUT_PROCESSOR: 'warning',
  EVENT_WITHOUT_SENDER: 'error',
  SYSTEM_CANNOT_SEND: 'error',
  SENDERS_UNDECLARED: 'warning',
  MIGRATION_STATE_UNMAPPED: 'error',
  MIGRATION_TARGET_UNDECLARED: 'error',
  MIGRATION_NOT_FORWARD: 'error',
  VERSION_NOT_SERVED: 'error',
  COMPENSATION_MISSING: 'error',
  COMPENSATION_UNUSED: 'warning',
};

export const severityOf = (code: MachineIssueCode): MachineIssue['severity'] => SEVERITY[code];

/** Two dimension lists share a value; `undefined` is "any", which shares with everything. */
const overlaps = (a?: readonly string[], b?: readonly string[]) => !a || !b || a.some((x) => b.includes(x));
const covers = (list: readonly string[] | undefined, value: string) => !list || list.includes(value);
const keysOf = (m: RegistrationMetadata) =>
  (m.bizCodes ?? [ANY]).flatMap((bizCode) => (m.sceneIds ?? [ANY]).map((sceneId) => `${bizCode}@${sceneId}`));

/**
 * Everything wrong with a machine and its registrations, all at once, naming the classes:
 * registrations of undeclared states or events, non-final states with no way out, processors under
 * the same key with no filter() to choose between them, events nobody may send (errors); states unreachable from the
 * initial one, declared transitions no processor can take, plugins that match no processor, a
 * machine that does not say who sends its events (warnings).
 */
export function validateMachine(
  machine: MachineDefinition,
  processors: readonly Registration<AbstractStateProcessor | unknown>[],
  plugins: readonly Registration<unknown>[],
  /** `createsOrders: false` for an earlier version: new orders follow the current one, so nothing takes its transitions out of the initial state. */
  { createsOrders = true }: { createsOrders?: boolean } = {},
): MachineIssue[] {
  const issues: MachineIssue[] = [];
  const add = (code: MachineIssueCode, message: string) => issues.push({ severity: SEVERITY[code], code, message });

  for (const problem of checkRegistrations(machine, processors, plugins)) add('UNDECLARED_REGISTRATION', problem);

  const outgoing = new Map<string, string[]>();
  for (const t of machine.transitions) (outgoing.get(t.from) ?? outgoing.set(t.from, []).get(t.from)!).push(t.to);
  for (const state of machine.stateNames) {
    if (state !== machine.initial && !machine.stateSpec(state)?.final && !outgoing.has(state)) {
      add('DEAD_END_STATE', `state ${state} is not final, yet no transition leaves it: an order there is stuck for good`);
    }
  }

  const reached = new Set([machine.initial]);
  for (const queue = [machine.initial]; queue.length > 0; ) {
    for (const next of outgoing.get(queue.pop()!) ?? []) if (!reached.has(next) && reached.add(next)) queue.push(next);
  }
  for (const state of machine.stateNames) {
    if (!reached.has(state)) add('UNREACHABLE_STATE', `state ${state} cannot be reached from ${machine.initial}`);
  }

  // Same state, event and bizCode@sceneId key: unless every one of them has a filter(), an event
  // they all accept has no single processor.
  const byKey = new Map<string, Array<{ name: string; filtered: boolean }>>();
  for (const { name, metadata, instance } of processors) {
    const filtered = !!instance && typeof instance === 'object' && overridesFilter(instance as AbstractStateProcessor);
    for (const state of metadata.states ?? [ANY]) {
      for (const key of keysOf(metadata)) {
        const id = `${state}/${metadata.event}/${key}`;
        (byKey.get(id) ?? byKey.set(id, []).get(id)!).push({ name, filtered });
      }
    }
  }
  for (const [id, entries] of byKey) {
    if (entries.length > 1 && entries.some((e) => !e.filtered)) {
      const unfiltered = entries.filter((e) => !e.filtered).map((e) => e.name);
      add('OVERLAPPING_PROCESSORS', `${entries.map((e) => e.name).join(' and ')} share the key ${id}, and ${unfiltered.join(', ')} ${unfiltered.length > 1 ? 'have' : 'has'} no filter()`);
    }
  }

  const targets = new Map<string, string[]>();
  for (const t of machine.transitions) {
    const edge = `${t.from} -${t.event}->`;
    (targets.get(edge) ?? targets.set(edge, []).get(edge)!).push(t.to);
  }
  for (const t of machine.transitions) {
    const edge = `${t.from} -${t.event}->`;
    if (!targets.has(edge)) continue;
    if (!createsOrders && t.from === machine.initial) continue;
    if (!processors.some(({ metadata }) => metadata.event === t.event && covers(metadata.states, t.from))) {
      add('TRANSITION_WITHOUT_PROCESSOR', `no processor handles ${t.event} in ${t.from}: the declared ${edge} ${targets.get(edge)!.join(' | ')} can never be taken`);
    }
    targets.delete(edge);
  }

  if (!machine.declaresSenders) {
    add('SENDERS_UNDECLARED', `machine ${machine.name} does not say who sends its events (events: { EVENT: { sentBy } }): any caller may send any event`);
  } else {
    for (const event of machine.events) {
      if (machine.sendersOf(event)!.size === 0) add('EVENT_WITHOUT_SENDER', `nobody may send ${event}: declare its sentBy (system, or the roles that send it)`);
    }
    // Timers and the worker send as `system`: an event they send that refuses it would never apply.
    const bySystem = new Map<string, string>();
    for (const t of machine.transitions) if (t.timer) bySystem.set(t.event, `a timer sends it (${t.from} -${t.event}->)`);
    for (const state of machine.stateNames) {
      const auto = machine.stateSpec(state)?.automatic;
      if (auto) bySystem.set(auto.event, `it is ${state}'s automatic work`);
    }
    for (const [event, why] of bySystem) {
      const senders = machine.sendersOf(event);
      if (senders && senders.size > 0 && !senders.has('system')) add('SYSTEM_CANNOT_SEND', `${event}'s sentBy leaves out system, yet ${why}: it would be refused every time`);
    }
  }

  for (const { name, metadata } of plugins) {
    const matched = processors.some(
      (p) =>
        p.metadata.event === metadata.event &&
        overlaps(p.metadata.states, metadata.states) &&
        overlaps(p.metadata.bizCodes, metadata.bizCodes) &&
        overlaps(p.metadata.sceneIds, metadata.sceneIds),
    );
    if (!matched) add('PLUGIN_WITHOUT_PROCESSOR', `plugin ${name} (${metadata.event} in ${(metadata.states ?? ['any state']).join(', ')}) matches no processor: it never runs`);
  }
  return issues;
}
