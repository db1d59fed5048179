// Bulk actions over a filter: always previewed first (dryRun: true answers exactly which orders would
// change and how, and changes nothing); the same request then applies, once the operator has seen it.
import { ApiError, machine, ops } from './api.js';
import { fill, h, itemsOf, message, orderLink, stateBadge } from './dom.js';

const ACTIONS = {
  force: 'Force to a state',
  pause: 'Pause',
  resume: 'Resume',
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
  const toStateLabel = h('label', {}, 'To state', toState);
  const reason = h('textarea', { name: 'reason', required: true, rows: 2, placeholder: 'Why (kept in the audit log of every order it changes)', maxlength: 500 });
  const preview = h('button', { type: 'submit', id: 'bulk-preview' }, 'Preview (dry run)');
  const apply = h('button', { type: 'button', id: 'bulk-apply', class: 'danger', disabled: true }, 'Apply');
  const result = h('div', { id: 'bulk-result' });

  const form = h(
    'form',
    { class: 'card bulk', id: 'bulk' },
    h('h2', {}, 'Which orders'),
    h('div', { class: 'grid' }, h('label', {}, 'Action', action), h('label', {}, 'In state', state), h('label', {}, 'bizCode', bizCode), h('label', {}, 'sceneId', sceneId), h('label', {}, 'Last changed before', updatedBefore), toStateLabel),
    h('label', {}, 'Reason', reason),
    h('div', { class: 'buttons' }, preview, apply),
  );

  /** The request the form says; the preview and the apply send the same one, but for dryRun. */
  const request = () => {
    const filter = {};
    if (state.value) filter.state = state.value;
    if (bizCode.value.trim()) filter.bizCode = bizCode.value.trim();
    if (sceneId.value.trim()) filter.sceneId = sceneId.value.trim();
    if (updatedBefore.value) filter.updatedBefore = new Date(updatedBefore.value).toISOString();
    return { action: action.value, body: { filter, reason: reason.value.trim(), ...(action.value === 'force' && { toState: toState.value }) } };
  };

  let previewed = null;
  const changed = () => {
    previewed = null;
    apply.disabled = true;
    apply.textContent = 'Apply';
    toStateLabel.hidden = action.value !== 'force';
  };
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  changed();

  const show = (answer, dryRun) => {
    const items = itemsOf(answer, 'orders', 'changes', 'wouldChange', 'changed');
    fill(
      result,
      h('h2', {}, dryRun ? `Would change ${items.length} order${items.length === 1 ? '' : 's'}` : `Changed ${items.length} order${items.length === 1 ? '' : 's'}`),
      dryRun ? h('p', { class: 'muted' }, 'Nothing has changed yet.') : null,
      items.length
        ? h(
            'table',
            { class: 'rows-table' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'From'), h('th', {}, 'To'), h('th', {}, 'Note'))),
            h(
              'tbody',
              {},
              items.map((i) =>
                h(
                  'tr',
                  {},
                  h('td', {}, orderLink(i.orderId)),
                  h('td', {}, i.fromState ?? i.state ? stateBadge(i.fromState ?? i.state) : ''),
                  h('td', {}, i.toState ? stateBadge(i.toState) : ''),
                  h('td', { class: 'muted' }, i.change ?? i.note ?? i.error ?? i.outcome ?? ''),
                ),
              ),
            ),
          )
        : null,
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { action: name, body } = request();
    preview.disabled = true;
    try {
      const answer = await ops.bulk(name, { ...body, dryRun: true });
      show(answer, true);
      previewed = { name, body };
      const count = itemsOf(answer, 'orders', 'changes', 'wouldChange').length;
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
