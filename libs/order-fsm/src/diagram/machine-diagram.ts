import type { MachineDefinition, ResolvedLatePolicy } from '../model/machine.js';
import type { ProcessorRegistry } from '../registry/processor-registry.js';

/** Which orders a diagram is about: omitted dimensions mean every value. */
export interface DiagramScope {
  readonly bizCode?: string;
  readonly sceneId?: string;
}

export interface DiagramState {
  readonly name: string;
  readonly kind: 'initial' | 'final' | 'automatic' | 'state';
  /** The event the worker sends in an automatic state. */
  readonly automaticEvent?: string;
  /** For which orders it is automatic, when not for all (`sceneId ENTERPRISE`). */
  readonly automaticFor?: string;
  readonly description?: string;
  /** What happens to events arriving late in this state, when the machine says (`PAY: compensate`); refusals are not listed. */
  readonly late?: readonly string[];
  /** In a diff: whether the state is new, gone, changed or the same in the later version. */
  readonly status?: DiffStatus;
  /** In a diff, for a changed state: what changed, one line each (`kind: state -> final`). */
  readonly changes?: readonly string[];
}

/** How a state or a transition compares between two versions of a machine. */
export type DiffStatus = 'added' | 'removed' | 'changed' | 'same';

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly event: string;
  /** Who sends the event: a client, the worker (automatic), or a timer. */
  readonly trigger: 'client' | 'automatic' | 'timer';
  /** The processors that take it; empty when none does (drawn as a problem). */
  readonly processors: readonly string[];
  /** Who may send the event (`system`, role names), when the machine says; drawn as `[client]`. */
  readonly sentBy?: readonly string[];
  readonly status?: DiffStatus;
  readonly changes?: readonly string[];
}

export interface MachineDiagram {
  readonly machine: string;
  /** The machine's version drawn (for a diff, the later one). */
  readonly version: number;
  /** `*@*` for the whole machine, `TAXI@APP` for one dimension. */
  readonly scope: string;
  readonly states: readonly DiagramState[];
  readonly edges: readonly DiagramEdge[];
  /** Set on a diff (describeMachineDiff): the two versions compared; every state and edge then has a status. */
  readonly compared?: { readonly from: number; readonly to: number };
}

const covers = (list: readonly string[] | undefined, value: string | undefined) => value === undefined || !list || list.includes(value);
const toList = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? [v] : v);

/** What describeMachine() reads of the registry: the processors serving a version, and which it would choose. */
export type DiagramRegistry = Pick<ProcessorRegistry, 'listProcessors' | 'resolve'>;

const lateLabel = (policy: ResolvedLatePolicy) => (policy.kind === 'hold' ? `hold ${duration(policy.forMs)}${policy.onExpiry ? `, then ${policy.onExpiry}` : ''}` : policy.kind);
const duration = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}min` : ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;

/**
 * The machine as a graph, from its declared transitions and the registry: the processors serving the
 * machine's version (`machine.version`), so an earlier version served beside the current one is drawn
 * with its own processors. With a full scope (bizCode and sceneId) each edge names the processors the
 * registry would choose for such an order, and only the transitions such an order can take are kept,
 * with the states they touch.
 */
export function describeMachine(machine: MachineDefinition, registry: DiagramRegistry, scope: DiagramScope = {}): MachineDiagram {
  const { bizCode, sceneId } = scope;
  const { version } = machine;
  const serving = registry.listProcessors(version);
  const whole = bizCode === undefined && sceneId === undefined;
  const automaticOf = (state: string) => {
    const auto = machine.stateSpec(state)?.automatic;
    if (!auto || !covers(toList(auto.bizCode), bizCode) || !covers(toList(auto.sceneId), sceneId)) return undefined;
    return auto.event;
  };
  // The processors that serve this version of the machine, not those of the versions before or after it.
  const processorsOf = (from: string, event: string): string[] => {
    if (bizCode !== undefined && sceneId !== undefined) {
      const chosen = new Set(registry.resolve(from, event, bizCode, sceneId, version));
      return serving.filter((r) => chosen.has(r.instance)).map((r) => r.name);
    }
    return serving
      .filter(({ metadata: m }) => m.event === event && covers(m.states, from) && covers(m.bizCodes, bizCode) && covers(m.sceneIds, sceneId))
      .map((r) => r.name);
  };

  const edges: DiagramEdge[] = [];
  for (const t of machine.transitions) {
    const processors = processorsOf(t.from, t.event);
    if (!whole && processors.length === 0) continue;
    const trigger = t.timer ? 'timer' : automaticOf(t.from) === t.event ? 'automatic' : 'client';
    const senders = machine.sendersOf(t.event);
    edges.push({ from: t.from, to: t.to, event: t.event, trigger, processors, ...(senders && { sentBy: [...senders] }) });
  }
  const touched = new Set([machine.initial, ...edges.flatMap((e) => [e.from, e.to])]);
  // Late policies, by state: what the machine does with each event that arrives after it (refusing is the default, not listed).
  const lateOf = (state: string) =>
    state === machine.initial
      ? []
      : [...machine.latePolicies.keys()]
          .filter((event) => !machine.hasEvent(state, event))
          .map((event) => [event, machine.latePolicy(event, state)] as const)
          .filter(([, policy]) => policy.kind !== 'refuse')
          .map(([event, policy]) => `${event}: ${lateLabel(policy)}`);
  const states: DiagramState[] = machine.stateNames
    .filter((name) => whole || touched.has(name))
    .map((name) => {
      const spec = machine.stateSpec(name);
      const automaticEvent = automaticOf(name);
      const kind = name === machine.initial ? 'initial' : spec?.final ? 'final' : automaticEvent ? 'automatic' : 'state';
      const auto = spec?.automatic;
      const automaticFor = automaticEvent && auto
        ? [
            bizCode === undefined && auto.bizCode !== undefined && `bizCode ${toList(auto.bizCode)!.join('|')}`,
            sceneId === undefined && auto.sceneId !== undefined && `sceneId ${toList(auto.sceneId)!.join('|')}`,
          ].filter(Boolean).join(', ')
        : '';
      const late = lateOf(name);
      return {
        name,
        kind,
        ...(automaticEvent && { automaticEvent }),
        ...(automaticFor && { automaticFor }),
        ...(spec?.description && { description: spec.description }),
        ...(late.length > 0 && { late }),
      };
    });
  return { machine: machine.name, version, scope: `${bizCode ?? '*'}@${sceneId ?? '*'}`, states, edges };
}

const key = (e: DiagramEdge) => `${e.from}\u0000${e.event}\u0000${e.to}`;
const listed = (list: readonly string[] | undefined, none = 'none') => (list?.length ? list.join(', ') : none);
const automaticOfState = (s: DiagramState) => (s.automaticEvent ? `${s.automaticEvent}${s.automaticFor ? ` for ${s.automaticFor}` : ''}` : 'none');

/** What changed in a state from one version to the next, one line each; empty when nothing did. */
function stateChanges(a: DiagramState, b: DiagramState): string[] {
  return [
    a.kind !== b.kind && `kind ${a.kind} → ${b.kind}`,
    a.kind === b.kind && automaticOfState(a) !== automaticOfState(b) && `automatic ${automaticOfState(a)} → ${automaticOfState(b)}`,
    listed(a.late) !== listed(b.late) && `late ${listed(a.late)} → ${listed(b.late)}`,
  ].filter((line): line is string => typeof line === 'string');
}

/** What changed in a transition (same from, event and to) from one version to the next. */
function edgeChanges(a: DiagramEdge, b: DiagramEdge): string[] {
  const senders = (e: DiagramEdge) => (e.sentBy ? listed(e.sentBy, 'nobody') : 'anyone');
  return [
    a.trigger !== b.trigger && `trigger ${a.trigger} → ${b.trigger}`,
    listed(a.processors) !== listed(b.processors) && `processors ${listed(a.processors)} → ${listed(b.processors)}`,
    senders(a) !== senders(b) && `sent by ${senders(a)} → ${senders(b)}`,
  ].filter((line): line is string => typeof line === 'string');
}

/**
 * Two drawings of one machine (two versions, same scope) as one: every state and transition of either,
 * with its status in `to`: `added`, `removed`, `changed` (with what changed: a state's kind, automatic
 * event or late policies; a transition's trigger, processors or senders) or `same`. A transition is
 * known by its from, event and to: one that now leads elsewhere is a removed one and an added one.
 * The renderers draw it with a legend, titled `taxi v1 → v2`.
 */
export function describeMachineDiff(from: MachineDiagram, to: MachineDiagram): MachineDiagram {
  if (from.machine !== to.machine) throw new Error(`a diff compares two versions of one machine, not ${from.machine} and ${to.machine}`);
  if (from.scope !== to.scope) throw new Error(`a diff compares two drawings of one scope, not ${from.scope} and ${to.scope}`);
  const statesBefore = new Map(from.states.map((s) => [s.name, s]));
  const statesAfter = new Set(to.states.map((s) => s.name));
  const edgesBefore = new Map(from.edges.map((e) => [key(e), e]));
  const edgesAfter = new Set(to.edges.map(key));
  const compare = <T extends DiagramState | DiagramEdge>(before: T | undefined, after: T, changes: (a: T, b: T) => string[]): T => {
    if (!before) return { ...after, status: 'added' };
    const changed = changes(before, after);
    return changed.length ? { ...after, status: 'changed', changes: changed } : { ...after, status: 'same' };
  };
  return {
    machine: to.machine,
    version: to.version,
    scope: to.scope,
    states: [
      ...to.states.map((s) => compare(statesBefore.get(s.name), s, stateChanges)),
      ...from.states.filter((s) => !statesAfter.has(s.name)).map((s): DiagramState => ({ ...s, status: 'removed' })),
    ],
    edges: [
      ...to.edges.map((e) => compare(edgesBefore.get(key(e)), e, edgeChanges)),
      ...from.edges.filter((e) => !edgesAfter.has(key(e))).map((e): DiagramEdge => ({ ...e, status: 'removed' })),
    ],
    compared: { from: from.version, to: to.version },
  };
}

const automaticLabel = (s: DiagramState) => `automatic ${s.automaticEvent}${s.automaticFor ? ` for ${s.automaticFor}` : ''}`;

const sentByLabel = (e: DiagramEdge) => (e.sentBy ? ` [${e.sentBy.length ? e.sentBy.join('|') : 'nobody'}]` : '');

const edgeLabel = (e: DiagramEdge, separator: string, between = ', ') =>
  `${e.trigger === 'timer' ? 'timer: ' : e.trigger === 'automatic' ? 'auto: ' : ''}${e.event}${sentByLabel(e)}${separator}${e.processors.length ? e.processors.join(between) : '(no processor)'}`;

/** `taxi v2 (*@*)`, or for a diff `taxi v1 → v2 (*@*)`. */
const titleOf = (d: MachineDiagram) => `${d.machine} ${d.compared ? `v${d.compared.from} → v${d.compared.to}` : `v${d.version}`} (${d.scope})`;

/** The colours of a diff: added green, removed red (and dashed), changed amber. */
const DIFF_COLOURS: Record<Exclude<DiffStatus, 'same'>, { readonly line: string; readonly fill: string }> = {
  added: { line: '#2e7d32', fill: '#e8f5e9' },
  removed: { line: '#c62828', fill: '#ffebee' },
  changed: { line: '#b26a00', fill: '#fff3cd' },
};
const DIFF_STATUSES = Object.keys(DIFF_COLOURS) as Array<keyof typeof DIFF_COLOURS>;
const coloured = (status: DiffStatus | undefined) => (status && status !== 'same' ? DIFF_COLOURS[status] : undefined);

/**
 * Mermaid (stateDiagram-v2): final states end in [*], automatic states are shaded and say their event,
 * late policies are notes. A diff colours its states by status (and draws a legend of three states);
 * Mermaid cannot colour a transition, so each one not the same says so: `added: PAY / PayProcessor`.
 */
export function toMermaid(d: MachineDiagram): string {
  const diff = d.compared !== undefined;
  const id = (state: string) => (d.states.find((s) => s.name === state)?.kind === 'initial' ? '[*]' : state);
  const lines = ['---', `title: ${titleOf(d)}`, '---', 'stateDiagram-v2', '  direction LR'];
  for (const s of d.states) {
    const said = [s.kind === 'automatic' && automaticLabel(s), diff && s.status !== 'same' && s.status, ...(s.changes ?? [])].filter(Boolean);
    if (s.kind !== 'initial' && said.length) lines.push(`  ${s.name} : ${s.name} (${said.join(', ')})`);
  }
  for (const e of d.edges) {
    const status = diff && e.status !== 'same' ? `${e.status}: ` : '';
    const changes = e.changes?.length ? ` (${e.changes.join(', ')})` : '';
    lines.push(`  ${id(e.from)} --> ${id(e.to)} : ${status}${edgeLabel(e, ' / ')}${changes}`);
  }
  for (const s of d.states) if (s.kind === 'final') lines.push(`  ${s.name} --> [*]`);
  for (const s of d.states) if (s.late && s.kind !== 'initial') lines.push(`  note right of ${s.name} : late ${s.late.join(', ')}`);
  if (diff) {
    for (const status of DIFF_STATUSES) lines.push(`  state "${status}" as legend_${status}`);
    for (const status of DIFF_STATUSES) {
      const { line, fill } = DIFF_COLOURS[status];
      lines.push(`  classDef ${status} fill:${fill},stroke:${line},color:${line}${status === 'removed' ? ',stroke-dasharray:5 5' : ''}`);
    }
    for (const status of DIFF_STATUSES) {
      const names = d.states.filter((s) => s.status === status && s.kind !== 'initial').map((s) => s.name);
      lines.push(`  class ${[...names, `legend_${status}`].join(',')} ${status}`);
    }
    return `${lines.join('\n')}\n`;
  }
  lines.push('  classDef automatic fill:#fff3cd,stroke:#b58900', '  classDef final fill:#e8f5e9,stroke:#2e7d32');
  const automatic = d.states.filter((s) => s.kind === 'automatic').map((s) => s.name);
  const final = d.states.filter((s) => s.kind === 'final').map((s) => s.name);
  if (automatic.length) lines.push(`  class ${automatic.join(',')} automatic`);
  if (final.length) lines.push(`  class ${final.join(',')} final`);
  return `${lines.join('\n')}\n`;
}

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const html = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A diff's title with its legend under it, as a Graphviz HTML label (one table: a title row, a legend row). */
function diffLegend(d: MachineDiagram): string {
  const statuses = ['added', 'removed', 'changed', 'same'] as const;
  const cell = (status: DiffStatus) => {
    const colours = coloured(status);
    const look = colours ? ` bgcolor="${colours.fill}" color="${colours.line}"${status === 'removed' ? ' style="dashed"' : ''}` : '';
    return `<td${look}><font color="${colours?.line ?? 'black'}">${status}</font></td>`;
  };
  const title = `<tr><td colspan="${statuses.length}" border="0"><b>${html(titleOf(d))}</b></td></tr>`;
  return `<<table border="0" cellborder="1" cellspacing="6" cellpadding="4">${title}<tr>${statuses.map(cell).join('')}</tr></table>>`;
}

/** A final state is a double circle, or a double box when it says more than its name. */
const finalShape = (label: string) => (label.includes('\n') ? 'shape=box, peripheries=2' : 'shape=doublecircle');

function dotState(s: DiagramState, diff: boolean): string {
  const late = s.late?.length ? `\nlate: ${s.late.join('\n')}` : '';
  if (!diff) {
    if (s.kind === 'initial') return `  ${quote(s.name)} [shape=circle, style=filled, fillcolor=black, label="", width=0.25, xlabel=${quote(s.name)}];`;
    if (s.kind === 'final') return `  ${quote(s.name)} [${finalShape(late)}, style=filled, fillcolor="#e8f5e9", color="#2e7d32"${late && `, label=${quote(`${s.name}${late}`)}`}];`;
    if (s.kind === 'automatic') return `  ${quote(s.name)} [style="rounded,filled", fillcolor="#fff3cd", color="#b58900", label=${quote(`${s.name}\n(${automaticLabel(s)})${late}`)}];`;
    return late ? `  ${quote(s.name)} [label=${quote(`${s.name}${late}`)}];` : `  ${quote(s.name)};`;
  }
  const colours = coloured(s.status);
  const line = colours ? `color="${colours.line}", fontcolor="${colours.line}", penwidth=2` : '';
  if (s.kind === 'initial') {
    return `  ${quote(s.name)} [shape=circle, style=filled, fillcolor="${colours?.line ?? 'black'}", label="", width=0.25, xlabel=${quote(s.name)}${line && `, ${line}`}];`;
  }
  // A change of late policies already says the policies now: they are not said twice.
  const saysLate = s.changes?.some((c) => c.startsWith('late '));
  const label = [s.name, s.kind === 'automatic' && `(${automaticLabel(s)})`, ...(s.changes ?? []).map((c) => `(${c})`)].filter(Boolean).join('\n') + (saysLate ? '' : late);
  const shape = s.kind === 'final' ? finalShape(label) : undefined;
  const styles = colours && [!shape && 'rounded', 'filled', s.status === 'removed' && 'dashed'].filter(Boolean).join(',');
  const attributes = [
    shape,
    styles && `style=${quote(styles)}`,
    colours && `fillcolor="${colours.fill}"`,
    line,
    label !== s.name && `label=${quote(label)}`,
  ].filter(Boolean);
  return attributes.length ? `  ${quote(s.name)} [${attributes.join(', ')}];` : `  ${quote(s.name)};`;
}

function dotEdge(e: DiagramEdge, diff: boolean): string {
  const label = `label=${quote(`${edgeLabel(e, '\n', '\n')}${(e.changes ?? []).map((c) => `\n(${c})`).join('')}`)}`;
  if (!diff) {
    const style = [
      label,
      e.trigger === 'timer' && 'style=dashed',
      e.trigger === 'automatic' && 'style=bold, color="#b58900"',
      e.processors.length === 0 && 'color="#c62828", fontcolor="#c62828"',
    ].filter(Boolean);
    return `  ${quote(e.from)} -> ${quote(e.to)} [${style.join(', ')}];`;
  }
  // In a diff dashes mean removed: a timer is dotted instead, and colour says the status, not the trigger.
  const colours = coloured(e.status);
  const style = [label, e.status === 'removed' ? 'style=dashed' : e.trigger === 'timer' ? 'style=dotted' : e.trigger === 'automatic' && 'style=bold', colours && `color="${colours.line}", fontcolor="${colours.line}", penwidth=2`]
    .filter(Boolean);
  return `  ${quote(e.from)} -> ${quote(e.to)} [${style.join(', ')}];`;
}

/**
 * Graphviz DOT: the initial state is a dot, final states double circles, automatic states shaded;
 * automatic edges are bold, timer edges dashed, and an edge no processor takes is red. A diff is
 * titled `taxi v1 → v2` over a legend: added green, removed red and dashed, changed amber (saying
 * what changed), the same in black; timer edges are dotted there.
 */
export function toDot(d: MachineDiagram): string {
  const diff = d.compared !== undefined;
  const lines = [
    `digraph ${quote(titleOf(d))} {`,
    `  label=${diff ? diffLegend(d) : quote(titleOf(d))}; labelloc=t; rankdir=LR; fontname="Helvetica";`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const s of d.states) lines.push(dotState(s, diff));
  for (const e of d.edges) lines.push(dotEdge(e, diff));
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

let graphviz: Promise<{ dot(source: string): string }> | undefined;

/**
 * SVG, rendered in process by Graphviz compiled to WebAssembly: nothing is fetched. It scales to
 * whatever holds it: the viewBox stays, Graphviz's fixed width and height (in points) go.
 */
export async function toSvg(d: MachineDiagram): Promise<string> {
  graphviz ??= import('@hpcc-js/wasm-graphviz').then(({ Graphviz }) => Graphviz.load());
  return (await graphviz).dot(toDot(d)).replace(/<svg width="[^"]*" height="[^"]*"\s*/, '<svg ');
}
