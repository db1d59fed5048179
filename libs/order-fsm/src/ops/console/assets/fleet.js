// The fleet: the machine's diagram with the number of orders in each state, kept fresh by polling,
// for the whole fleet or one bizCode@sceneId; and what needs a person: the outbox's backlog, the
// dead letters and the stuck orders, each linking to its order.
import { ApiError, diagramSvg, ops, outbox as outboxBacklog } from './api.js';
import { ago, card, fill, h, itemsOf, message, orderLink, stateBadge, when } from './dom.js';

/** Orders per state from the fleet answer, whatever its shape: `{ states: { S: n } }`, or rows of `{ state, count, bizCode?, sceneId? }`. */
export function countsOf(answer, scope) {
  const byState = new Map();
  const dimensions = new Set();
  const add = (state, count) => byState.set(state, (byState.get(state) ?? 0) + Number(count ?? 0));
  const rows = Array.isArray(answer) ? answer : itemsOf(answer, 'counts', 'rows', 'byDimension');
  if (rows.length) {
    for (const row of rows) {
      if (row.bizCode !== undefined && row.sceneId !== undefined) dimensions.add(`${row.bizCode}@${row.sceneId}`);
      if (scope.bizCode && row.bizCode !== undefined && row.bizCode !== scope.bizCode) continue;
      if (scope.sceneId && row.sceneId !== undefined && row.sceneId !== scope.sceneId) continue;
      add(row.state, row.count ?? row.orders);
    }
  } else if (answer && typeof answer === 'object') {
    const states = answer.states ?? answer.byState ?? {};
    for (const [state, count] of Object.entries(states)) add(state, typeof count === 'object' ? count.count : count);
    for (const d of answer.dimensions ?? []) dimensions.add(typeof d === 'string' ? d : `${d.bizCode}@${d.sceneId}`);
  }
  return { byState, dimensions: [...dimensions].sort() };
}

/** Puts a count on each state of the diagram (and shades the states that hold orders). */
function drawCounts(svg, byState) {
  // Diagram units per screen pixel.
  const scale = svg.viewBox.baseVal.width / Math.max(1, svg.getBoundingClientRect().width);
  for (const node of svg.querySelectorAll('g.node')) {
    const state = node.querySelector('title')?.textContent;
    if (!state || state === 'INIT') continue;
    const count = byState.get(state) ?? 0;
    node.classList.toggle('has-orders', count > 0);
    node.dataset.state = state;
    let badge = node.querySelector('g.count');
    if (!badge) {
      const shape = node.querySelector('path, ellipse, polygon, rect');
      if (!shape) continue;
      const box = shape.getBBox();
      const ns = 'http://www.w3.org/2000/svg';
      badge = document.createElementNS(ns, 'g');
      badge.setAttribute('class', 'count');
      const pill = document.createElementNS(ns, 'rect');
      const text = document.createElementNS(ns, 'text');
      text.setAttribute('text-anchor', 'middle');
      badge.append(pill, text);
      badge.dataset.right = String(box.x + box.width);
      badge.dataset.top = String(box.y);
      node.append(badge);
    }
    // Sized for the screen (about 12 px high text), whatever the scale the diagram is drawn at.
    const unit = scale;
    const label = String(count);
    const height = 18 * unit;
    const width = (12 + 8 * label.length) * unit;
    const right = Number(badge.dataset.right);
    const top = Number(badge.dataset.top);
    const [pill, text] = badge.children;
    pill.setAttribute('x', String(right - width / 2));
    pill.setAttribute('y', String(top - height / 2));
    pill.setAttribute('rx', String(height / 2));
    pill.setAttribute('width', String(width));
    pill.setAttribute('height', String(height));
    text.setAttribute('x', String(right));
    text.setAttribute('y', String(top + 4.5 * unit));
    text.setAttribute('font-size', String(13 * unit));
    text.textContent = label;
  }
}

function countsTable(states, byState) {
  const total = [...byState.values()].reduce((a, b) => a + b, 0);
  return h(
    'ul',
    { class: 'tiles', id: 'counts' },
    states.map((state) => {
      const count = byState.get(state) ?? 0;
      return h('li', { dataset: { state }, class: count ? '' : 'empty' }, stateBadge(state), h('strong', { id: `count-${state}` }, String(count)));
    }),
    h('li', { class: 'total' }, 'All orders', h('strong', { id: 'count-total' }, String(total))),
  );
}

const list = (items, row, empty) => (items.length ? h('ul', { class: 'rows' }, items.map((item) => h('li', {}, row(item)))) : h('p', { class: 'muted' }, empty));

export async function fleetView(main, _params, ctx) {
  const params = new URLSearchParams(location.search);
  const scope = { bizCode: params.get('bizCode') ?? '', sceneId: params.get('sceneId') ?? '' };

  const bizCode = h('input', { name: 'bizCode', value: scope.bizCode, placeholder: 'any', list: 'dimension-bizcodes', autocomplete: 'off' });
  const sceneId = h('input', { name: 'sceneId', value: scope.sceneId, placeholder: 'any', list: 'dimension-sceneids', autocomplete: 'off' });
  const bizList = h('datalist', { id: 'dimension-bizcodes' });
  const sceneList = h('datalist', { id: 'dimension-sceneids' });
  const filter = h(
    'form',
    { class: 'filter', id: 'fleet-filter' },
    h('label', {}, 'bizCode ', bizCode),
    h('label', {}, 'sceneId ', sceneId),
    bizList,
    sceneList,
    h('button', { type: 'submit' }, 'Show'),
    h('a', { href: '/console', class: 'quiet' }, 'All orders'),
  );
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (bizCode.value.trim()) query.set('bizCode', bizCode.value.trim());
    if (sceneId.value.trim()) query.set('sceneId', sceneId.value.trim());
    ctx.navigate(`/console${query.size ? `?${query}` : ''}`);
  });

  const diagram = h('div', { class: 'diagram', id: 'diagram' }, h('p', { class: 'muted' }, 'Drawing the machine…'));
  const counts = h('div', { class: 'counts-box' });
  const outbox = h('div', { id: 'outbox' }, h('p', { class: 'muted' }, '…'));
  const dead = h('div', { id: 'dead-letters' }, h('p', { class: 'muted' }, '…'));
  const stuck = h('div', { id: 'stuck' }, h('p', { class: 'muted' }, '…'));
  const title = scope.bizCode || scope.sceneId ? `The fleet: ${scope.bizCode || '*'}@${scope.sceneId || '*'}` : 'The fleet';

  fill(
    main,
    h('div', { class: 'heading' }, h('h1', {}, title), filter),
    h('section', { class: 'card wide' }, h('div', { class: 'fleet' }, diagram, counts)),
    h('div', { class: 'columns' }, card('Outbox backlog', outbox), card('Dead letters', dead), card('Stuck orders', stuck)),
  );

  // A scope the service refuses (a bizCode it does not have, say) is said in the diagram's place;
  // the backlog, the dead letters and the stuck orders, which do not depend on it, are still shown.
  let svg = null;
  let states = [];
  try {
    const svgText = await diagramSvg(scope);
    if (!ctx.alive()) return;
    const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
    svg = document.importNode(parsed, true);
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', title);
    fill(diagram, svg);
    states = [...svg.querySelectorAll('g.node > title')].map((t) => t.textContent).filter((s) => s !== 'INIT');
  } catch (error) {
    if (!ctx.alive()) return;
    if (!(error instanceof ApiError)) throw error;
    fill(diagram, message('error', error.message));
  }

  const show = (target, work) =>
    work.then(
      (content) => fill(target, content),
      (error) => fill(target, message(error instanceof ApiError && error.code === 'NOT_FOUND' ? 'muted' : 'error', error instanceof ApiError && error.code === 'NOT_FOUND' ? 'This service has no operator API for this yet.' : error.message)),
    );

  const reasonText = (r) => `${r.detail} (${ago(r.since)})`;
  await ctx.poll(async () => {
    const stuckOrders = ops.stuck({ limit: 50 }).then((answer) => itemsOf(answer));
    const counted = ops.counts({ bizCode: scope.bizCode || undefined, sceneId: scope.sceneId || undefined }).then((answer) => {
      const { byState, dimensions } = countsOf(answer, scope);
      if (svg) drawCounts(svg, byState);
      fill(bizList, [...new Set(dimensions.map((d) => d.split('@')[0]))].map((v) => h('option', { value: v })));
      fill(sceneList, [...new Set(dimensions.map((d) => d.split('@')[1]))].map((v) => h('option', { value: v })));
      return [countsTable(states, byState), answer?.asOf ? h('p', { class: 'muted small' }, `Counted ${when(answer.asOf)}; final states ${when(answer.finalAsOf)}`) : null];
    });
    await Promise.all([
      show(counts, counted),
      show(
        outbox,
        Promise.all([outboxBacklog(), stuckOrders.catch(() => [])]).then(([backlog, stuckList]) => {
          const late = stuckList.filter((s) => s.reasons.some((r) => r.kind === 'unpublished-messages'));
          return h(
            'div',
            {},
            h('p', { class: 'big', id: 'outbox-backlog' }, String(backlog.backlog), h('span', { class: 'muted' }, ' unpublished')),
            backlog.oldestAt ? h('p', { class: 'muted' }, `the oldest has waited ${ago(backlog.oldestAt)}`) : null,
            list(
              late,
              (s) => [orderLink(s.order.orderId), ' ', h('span', { class: 'muted' }, s.reasons.filter((r) => r.kind === 'unpublished-messages').map(reasonText).join('; '))],
              backlog.backlog ? 'No order has waited long.' : 'Nothing waits to be published.',
            ),
          );
        }),
      ),
      show(
        dead,
        ops.deadLetters({ status: 'dead', limit: 20 }).then((answer) =>
          list(
            itemsOf(answer),
            (d) => [orderLink(d.orderId), ' ', h('span', { class: 'tag' }, d.event), ' ', h('span', { class: 'muted' }, `${d.reason} · ${ago(d.createdAt)} ago`)],
            'No dead letters.',
          ),
        ),
      ),
      show(
        stuck,
        stuckOrders.then((items) =>
          list(
            items,
            (s) => [orderLink(s.order.orderId), ' ', stateBadge(s.order.state), h('div', { class: 'muted small' }, s.reasons.map(reasonText).join('; '))],
            'Nothing is stuck.',
          ),
        ),
      ),
    ]);
    ctx.status(`Updated ${when(new Date())} · every ${ctx.pollMs / 1000} s`);
  });
}
