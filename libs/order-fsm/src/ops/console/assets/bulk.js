// Bulk actions over a filter: always previewed first (dryRun: true answers exactly which orders would
// change and how, and changes nothing); the same request then applies, once the operator has seen it.
import { ApiError, machine, ops } from './api.js';
import { fill, h, itemsOf, message, orderLink, stateBadge } from './dom.js';

const ACTIONS = {
  pause: 'Pause',
  resume: 'Resume',
  force: 'Force to a state',
  redrive: 'Redrive dead letters',
};

export async function bulkView(main) {
  const graph = await machine({}).catch(() => ({ states: [] }));
  const states = graph.states.filter((s) => s.kind !== 'initial').map((s) => s.name);
  const stateOptions = (any) => [any ? h('option', { value: '' }, any) : null, ...states.map((s) => h('option', { value: s }, s))];

  const action = h('select', { name: 'action' }, Object.entries(ACTIONS).map(([value, label]) => h('option', { value }, label)));
  const state = h('select', { name: 'state' }, stateOptions('any state'));
  const bizCode = h('input', { name: 'bizCode', placeholder: 'any', autocomplete: 'off' });
  const sceneId = h('input', { name: 'sceneId', placeholder: 'any', autocomplete: 'off' });
  const updatedBefore = h('input', { name: 'updatedBefore', type: 'datetime-local', step: 1 });
  const toState = h('select', { name: 'toState' }, stateOptions());
  const orderIds = h('textarea', { name: 'orderIds', rows: 2, class: 'mono', placeholder: 'any (or ids, one per line)' });
  const event = h('input', { name: 'event', placeholder: 'any', autocomplete: 'off' });
  const toStateLabel = h('label', {}, 'To state', toState);
  const reason = h('textarea', { name: 'reason', required: true, rows: 2, placeholder: 'Why (kept in the audit log of every order it changes)', maxlength: 500 });
  const preview = h('button', { type: 'submit', id: 'bulk-preview' }, 'Preview (dry run)');
  const apply = h('button', { type: 'button', id: 'bulk-apply', class: 'danger', disabled: true }, 'Apply');
  const result = h('div', { id: 'bulk-result' });

  const form = h(
    'form',
    { class: 'card bulk', id: 'bulk' },
    h('h2', {}, 'Which orders'),
    h(
      'div',
      { class: 'grid' },
      h('label', {}, 'Action', action),
      toStateLabel,
      h('label', { dataset: { for: 'orders' } }, 'In state', state),
      h('label', { dataset: { for: 'orders' } }, 'bizCode', bizCode),
      h('label', { dataset: { for: 'orders' } }, 'sceneId', sceneId),
      h('label', { dataset: { for: 'orders' } }, 'Last changed before', updatedBefore),
      h('label', { dataset: { for: 'redrive' } }, 'Dead letters of the event', event),
    ),
    h('label', {}, 'Orders', orderIds),
    h('label', {}, 'Reason', reason),
    h('div', { class: 'buttons' }, preview, apply),
  );

  /** The request the form says; the preview and the apply send the same one, but for dryRun. */
  const request = () => {
    const filter = {};
    const ids = orderIds.value.split(/[\s,]+/).filter(Boolean);
    if (ids.length) filter.orderIds = ids;
    if (action.value === 'redrive') {
      if (event.value.trim()) filter.event = event.value.trim();
    } else {
      if (state.value) filter.state = state.value;
      if (bizCode.value.trim()) filter.bizCode = bizCode.value.trim();
      if (sceneId.value.trim()) filter.sceneId = sceneId.value.trim();
      if (updatedBefore.value) filter.updatedBefore = new Date(updatedBefore.value).toISOString();
    }
    return { action: action.value, body: { filter, reason: reason.value.trim(), ...(action.value === 'force' && { toState: toState.value }) } };
  };

  let previewed = null;
  const changed = () => {
    previewed = null;
    apply.disabled = true;
    apply.textContent = 'Apply';
    toStateLabel.hidden = action.value !== 'force';
    for (const label of form.querySelectorAll('[data-for]')) label.hidden = label.dataset.for !== (action.value === 'redrive' ? 'redrive' : 'orders');
  };
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  changed();

  const show = (answer, dryRun) => {
    const items = itemsOf(answer);
    const summary = answer.summary ?? {};
    const changes = dryRun ? summary.changes : summary.applied;
    fill(
      result,
      h('h2', { id: 'bulk-summary' }, dryRun ? `Would change ${changes} of ${summary.matched} order${summary.matched === 1 ? '' : 's'}` : `Changed ${changes} of ${summary.matched}; ${summary.replayed ? `${summary.replayed} already changed by this request, ` : ''}${summary.skipped} skipped, ${summary.failed} failed`),
      dryRun ? h('p', { class: 'muted' }, 'A dry run: nothing has changed.') : null,
      answer.truncated ? message('error', 'More orders match than one bulk action takes: apply, then preview again for the rest.') : null,
      items.length
        ? h(
            'table',
            { class: 'rows-table', id: 'bulk-items' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Now'), h('th', {}, dryRun ? 'Would' : 'Did'))),
            h(
              'tbody',
              {},
              items.map((i) =>
                h(
                  'tr',
                  { class: i.change ? '' : 'muted' },
                  h('td', {}, orderLink(i.orderId)),
                  h('td', {}, stateBadge(i.after?.state ?? i.state), i.paused ? h('span', { class: 'tag warn' }, 'paused') : null),
                  h('td', {}, dryRun ? i.change ?? `nothing: ${i.skip}` : i.error ? `${i.outcome}: ${i.error.code} ${i.error.message}` : `${i.outcome}: ${i.change ?? i.skip ?? ''}`),
                ),
              ),
            ),
          )
        : null,
    );
    return changes ?? 0;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { action: name, body } = request();
    preview.disabled = true;
    try {
      const answer = await ops.bulk(name, { ...body, dryRun: true });
      const count = show(answer, true);
      previewed = { name, body };
      apply.disabled = count === 0;
      apply.textContent = `Apply to these ${count} order${count === 1 ? '' : 's'}`;
    } catch (error) {
      fill(result, message('error', error instanceof ApiError ? `${error.code}: ${error.message}` : error.message));
    } finally {
      preview.disabled = false;
    }
  });

  apply.addEventListener('click', async () => {
    if (!previewed) return;
    apply.disabled = true;
    try {
      show(await ops.bulk(previewed.name, { ...previewed.body, dryRun: false }), false);
    } catch (error) {
      fill(result, message('error', error instanceof ApiError ? `${error.code}: ${error.message}` : error.message));
    }
    previewed = null;
    apply.textContent = 'Apply';
  });

  fill(main, h('div', { class: 'heading' }, h('h1', {}, 'Bulk actions')), h('div', { class: 'bulk-grid' }, form, h('section', { class: 'card' }, result)));
  fill(result, h('p', { class: 'muted' }, 'Choose the orders and preview what would change. Nothing changes until you apply the preview.'));
}
