// One order as a readable page: where it is, everything that happened to it in time order
// (transitions with who and why, status messages and whether they went out, timers, automatic work
// and its attempts that did not apply, dead letters, late events and what became of them), and what an operator can do to it, each
// action with a reason box.
import { ApiError, machine, ops } from './api.js';
import { fill, h, message, stateBadge, when } from './dom.js';

/** The order and its timeline, as GET /ops/orders/:id answers them. */
export function detailOf(answer) {
  const list = (name) => (Array.isArray(answer[name]) ? answer[name] : []);
  return {
    order: answer.order ?? answer,
    automaticWork: answer.automaticWork ?? null,
    transitions: list('transitions'),
    messages: list('messages'),
    timers: list('timers'),
    deadLetters: list('deadLetters'),
    actions: list('actions'),
    workAttempts: list('workAttempts'),
    lateEvents: list('lateEvents'),
  };
}

const load = async (orderId) => detailOf(await ops.order(orderId));

const at = (x) => x.createdAt ?? x.at ?? x.updatedAt ?? x.dueAt ?? x.firedAt ?? null;

/** Everything that happened, oldest first: one entry per transition, message, timer, attempt and dead letter. */
function entriesOf(detail) {
  const entries = [];
  // A transition's own messages (same version) are shown with it: one entry per step of the order.
  const versions = new Set(detail.transitions.map((t) => t.version));
  const sentWith = (version) =>
    detail.messages
      .filter((m) => m.version === version)
      .map((m) =>
        h(
          'div',
          { class: `sent${m.published ? '' : ' warn'}`, dataset: { message: m.kind ?? 'status' } },
          `${m.kind ?? 'status'} message ${m.routingKey ?? ''}: ${m.published ? `published ${when(m.publishedAt)}` : 'not published yet'}`,
        ),
      );
  for (const t of detail.transitions) {
    const who = t.actor ?? (typeof t.caller === 'object' ? t.caller?.name : t.caller);
    entries.push({
      at: at(t),
      kind: 'transition',
      order: t.version ?? 0,
      title: [h('strong', {}, t.event), ' ', t.fromState ? stateBadge(t.fromState) : null, ' → ', stateBadge(t.toState)],
      facts: [
        ['version', t.version],
        ['source', t.source],
        ['by', who],
        ['reason', t.reason],
        ['request', t.requestId],
      ],
      source: t.source,
      rank: 0,
      extra: sentWith(t.version),
    });
  }
  for (const m of detail.messages.filter((m) => !versions.has(m.version))) {
    entries.push({
      at: m.createdAt,
      kind: 'message',
      title: [h('strong', {}, `${m.kind ?? 'status'} message`), ' ', h('span', { class: 'mono' }, m.routingKey ?? '')],
      facts: [
        ['version', m.version],
        ['published', m.published ? when(m.publishedAt) : 'not yet'],
        ['id', m.messageId],
      ],
      warn: !m.published,
    });
  }
  for (const t of detail.timers) {
    entries.push({
      at: t.firedAt ?? t.fireAt,
      kind: 'timer',
      title: [h('strong', {}, `timer ${t.event}`), ' ', h('span', { class: `tag${t.status === 'failed' ? ' warn' : ''}` }, t.status)],
      facts: [
        ['set in', t.state ? `${t.state} (version ${t.version})` : undefined],
        ['due', when(t.fireAt)],
        ['fired', when(t.firedAt)],
        ['outcome', t.outcome],
      ],
    });
  }
  for (const d of detail.deadLetters) {
    entries.push({
      at: d.createdAt,
      kind: 'dead',
      title: [h('strong', {}, 'dead letter'), ' ', h('span', { class: 'tag' }, d.event), ' ', h('span', { class: `tag${d.status === 'dead' ? ' warn' : ''}` }, d.status)],
      facts: [
        ['in', d.state ? `${d.state} (version ${d.version})` : undefined],
        ['reason', d.reason],
        ['attempts', d.attempts],
        ['settled', d.settledAt ? `${when(d.settledAt)} by ${d.settledBy}: ${d.settleReason ?? ''}` : undefined],
        ['outcome', d.outcome],
      ],
      warn: d.status === 'dead',
      deadLetter: d,
    });
  }
  // Automatic work that did not apply, attempt by attempt (an attempt that applied is its transition).
  for (const w of detail.workAttempts) {
    const failed = w.outcome === 'retry' || w.outcome === 'dead-lettered';
    entries.push({
      at: w.at,
      kind: 'attempt',
      title: [h('strong', {}, `${w.event} attempt ${w.attempt}`), ' ', h('span', { class: `tag${failed ? ' warn' : ''}` }, w.outcome), ' ', h('span', { class: 'mono' }, w.errorCode)],
      facts: [
        ['in', w.state ? `${w.state} (version ${w.version})` : undefined],
        ['error', w.message],
        ['again', w.retryAt ? when(w.retryAt) : undefined],
      ],
      source: 'worker',
      warn: failed,
    });
  }
  // Events that arrived in a state with no transition for them, and what the machine's policy made of them.
  for (const l of detail.lateEvents) {
    const unsettled = l.status === 'held';
    const lost = l.status === 'expired' || l.status === 'refused';
    entries.push({
      at: l.createdAt,
      kind: 'late',
      title: [h('strong', {}, `late ${l.event}`), ' in ', stateBadge(l.state), ' ', h('span', { class: `tag${lost ? ' warn' : ''}` }, l.status)],
      facts: [
        ['policy', l.policy],
        ['by', l.caller],
        ['source', l.source],
        ['until', unsettled ? when(l.deadline) : undefined],
        ['settled', l.settledAt ? when(l.settledAt) : undefined],
        ['outcome', l.outcome],
        ['request', l.requestId],
      ],
      source: l.source,
      warn: lost,
    });
  }
  for (const a of detail.actions) {
    entries.push({
      at: a.at,
      kind: 'action',
      title: [h('strong', {}, `operator: ${a.kind}`)],
      facts: [
        ['by', a.actor],
        ['reason', a.reason],
      ],
      source: 'operator',
    });
  }
  return entries.sort((a, b) => {
    const ta = a.at ? new Date(a.at).getTime() : 0;
    const tb = b.at ? new Date(b.at).getTime() : 0;
    return ta - tb || (a.order ?? 0) - (b.order ?? 0) || (a.rank ?? 1) - (b.rank ?? 1);
  });
}

const facts = (pairs) =>
  h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
  );

function timeline(detail, actions) {
  const entries = entriesOf(detail);
  if (!entries.length) return h('p', { class: 'muted' }, 'Nothing has happened to this order.');
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    entries.map((e) =>
      h(
        'li',
        { class: `entry ${e.kind}${e.warn ? ' warn' : ''}`, dataset: { kind: e.kind, source: e.source } },
        h('time', { datetime: e.at ?? '' }, when(e.at)),
        h('div', { class: 'what' }, h('div', {}, ...e.title), facts(e.facts), e.extra ?? null, e.deadLetter ? actions.deadLetter(e.deadLetter) : null),
      ),
    ),
  );
}

/** A small form: fields, a reason box, a button; `send` gets the values, and the page reloads the order after. */
function actionForm({ id, title, fields = [], button, send, after, danger = false }) {
  const reason = h('textarea', { name: 'reason', required: true, rows: 2, placeholder: 'Why (kept in the audit log)', maxlength: 500 });
  const result = h('p', { class: 'result', role: 'status' });
  const form = h('form', { class: `action${danger ? ' danger' : ''}`, id }, h('h3', {}, title), ...fields, h('label', {}, 'Reason', reason), h('button', { type: 'submit' }, button), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    fill(result);
    try {
      const answer = await send(reason.value.trim(), form);
      fill(result, message('ok', 'Done.'));
      form.reset();
      await after(answer);
    } catch (error) {
      fill(result, message('error', error instanceof ApiError ? `${error.code}: ${error.message}` : error.message));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function orderView(main, { orderId }, ctx) {
  const header = h('div', { class: 'heading' });
  const summary = h('section', { class: 'card' });
  const actions = h('section', { class: 'card actions', id: 'actions' });
  const history = h('section', { class: 'card' });
  fill(main, header, h('div', { class: 'order-grid' }, h('div', {}, summary, history), actions));

  let detail;
  let graph;
  const deadLetterActions = {
    deadLetter: (d) => {
      if (d.status !== 'dead') return null;
      const reason = h('input', { name: 'reason', required: true, placeholder: 'Why redrive it', maxlength: 500 });
      const form = h('form', { class: 'redrive', dataset: { deadLetter: d.id } }, reason, h('button', { type: 'submit', class: 'small' }, 'Redrive'));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        form.querySelector('button').disabled = true;
        try {
          await ops.redrive(d.id, { reason: reason.value.trim() });
          await refresh();
        } catch (error) {
          form.replaceWith(message('error', error instanceof ApiError ? `${error.code}: ${error.message}` : error.message));
        }
      });
      return form;
    },
  };

  const refresh = async () => {
    detail = await load(orderId);
    if (!ctx.alive()) return;
    const o = detail.order;
    fill(
      header,
      h('h1', {}, 'Order ', h('span', { class: 'mono', id: 'order-id' }, o.orderId ?? orderId)),
      h('div', { class: 'badges' }, h('span', { id: 'order-state' }, stateBadge(o.state)), o.paused ? h('span', { class: 'tag warn', id: 'paused' }, 'paused') : null, o.flag ? h('span', { class: 'tag warn' }, 'flagged') : null),
    );
    fill(
      summary,
      h('h2', {}, 'Where it is'),
      facts([
        ['state', o.state],
        ['version', o.version],
        ['bizCode@sceneId', `${o.bizCode}@${o.sceneId}`],
        ['created', when(o.createdAt)],
        ['updated', when(o.updatedAt)],
        ['automatic', detail.automaticWork ? `${detail.automaticWork.event}${detail.automaticWork.dueAt ? `, due ${when(detail.automaticWork.dueAt)}` : ''}` : undefined],
        ['paused', o.paused ? `${o.paused.reason} (${when(o.paused.at)})` : undefined],
        ['flag', o.flag ? `${o.flag.reason} (${when(o.flag.at)})` : undefined],
      ]),
      h('details', {}, h('summary', {}, 'Order data'), h('pre', {}, JSON.stringify(o.data ?? {}, null, 2))),
    );
    fill(
      history,
      h('h2', {}, 'Timeline'),
      timeline(detail, deadLetterActions),
    );
    ctx.status(`Read ${when(new Date())}`);
  };

  await refresh();
  if (!ctx.alive()) return;
  graph = await machine({ bizCode: detail.order.bizCode, sceneId: detail.order.sceneId }).catch(() => machine({}));
  const states = graph.states.filter((s) => s.kind !== 'initial').map((s) => s.name);

  const toState = h('select', { name: 'toState', required: true }, states.map((s) => h('option', { value: s }, s)));
  const fence = h('input', { type: 'checkbox', name: 'fence', checked: true });
  const eventSelect = h('select', { name: 'event', required: true });
  const payload = h('textarea', { name: 'payload', rows: 2, class: 'mono', placeholder: '{}' });
  const fillEvents = () => {
    const events = [...new Set(graph.edges.filter((e) => e.from === detail.order.state).map((e) => e.event))];
    fill(eventSelect, events.length ? events.map((e) => h('option', { value: e }, e)) : h('option', { value: '' }, 'no event leaves this state'));
  };
  fillEvents();
  const after = async () => {
    await refresh();
    fillEvents();
  };

  fill(
    actions,
    h('h2', {}, 'Actions'),
    h('p', { class: 'muted' }, 'Each action is recorded with your name and your reason.'),
    actionForm({
      id: 'force',
      title: 'Force to a state',
      danger: true,
      fields: [h('label', {}, 'To state', toState), h('label', { class: 'inline' }, fence, ' only if the order is still at this version')],
      button: 'Force',
      send: (reason) => ops.force(orderId, { toState: toState.value, reason, ...(fence.checked && { expectedVersion: detail.order.version }) }),
      after,
    }),
    actionForm({
      id: 'pause',
      title: detail.order.paused ? 'Resume' : 'Pause',
      button: detail.order.paused ? 'Resume' : 'Pause',
      send: (reason) => (detail.order.paused ? ops.resume(orderId, { reason }) : ops.pause(orderId, { reason })),
      after: async () => {
        await after();
        ctx.navigate(location.pathname);
      },
    }),
    actionForm({
      id: 'send-event',
      title: 'Send an event',
      fields: [h('label', {}, 'Event', eventSelect), h('label', {}, 'Payload (JSON)', payload)],
      button: 'Send',
      send: (reason) => {
        let body = {};
        try {
          body = payload.value.trim() ? JSON.parse(payload.value) : {};
        } catch {
          throw new Error('The payload is not JSON.');
        }
        return ops.event(orderId, { event: eventSelect.value, payload: body, reason, requestId: crypto.randomUUID() });
      },
      after,
    }),
  );
}
