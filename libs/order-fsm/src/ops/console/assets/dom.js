// A few lines instead of a framework: elements are built with h(), text always goes in as text
// (never as HTML), so nothing an order holds can become markup.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'class') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, '');
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `element` holds. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const pad = (n) => String(n).padStart(2, '0');

/** A moment as the operator reads it: local date and time to the second. */
export function when(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago, roughly: 4 s, 3 min, 2 h, 5 d. */
export function ago(value) {
  const ms = Date.now() - new Date(value).getTime();
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export const orderLink = (orderId) => h('a', { href: `/console/orders/${encodeURIComponent(orderId)}`, class: 'mono', 'data-link': true }, orderId);

export const stateBadge = (state) => h('span', { class: 'state', dataset: { state } }, state);

/** A card with a title and its content. */
export const card = (title, ...content) => h('section', { class: 'card' }, h('h2', {}, title), ...content);

export const message = (kind, text) => h('p', { class: kind, role: kind === 'error' ? 'alert' : undefined }, text);

/** The items of a list answer, whatever its wrapper: `[...]`, `{ items }`, or `{ <name>: [...] }`. */
export function itemsOf(answer, ...names) {
  if (Array.isArray(answer)) return answer;
  if (!answer || typeof answer !== 'object') return [];
  for (const name of ['items', ...names]) if (Array.isArray(answer[name])) return answer[name];
  return [];
}
