// The console's pages: one HTML shell, and a view per path, drawn by these modules. Plain ES
// modules the browser loads from the service itself: no build step, no framework, nothing from
// another origin, no inline script (the service's Content-Security-Policy allows none).
import { signOut } from './api.js';
import { fill, h } from './dom.js';
import { bulkView } from './bulk.js';
import { fleetView } from './fleet.js';
import { orderView } from './order.js';

const main = document.getElementById('view');
const status = document.getElementById('status');
const pollMs = Number(document.body.dataset.pollMs) || 2000;

/** What a view may use: where to draw, how to say how fresh it is, how to poll. */
function contextFor(generation) {
  const alive = () => generation === current;
  return {
    pollMs,
    alive,
    status(text) {
      if (alive()) status.textContent = text;
    },
    /** Runs `task` now and then every pollMs while this view is shown (and the tab visible). */
    poll(task) {
      const loop = async () => {
        if (!alive()) return;
        if (!document.hidden) await task().catch(() => undefined);
        if (alive()) setTimeout(loop, pollMs);
      };
      return loop();
    },
    navigate,
  };
}

let current = 0;

function route(pathname) {
  const order = /^\/console\/orders\/([^/]+)$/.exec(pathname);
  if (order) return { name: 'order', view: orderView, params: { orderId: decodeURIComponent(order[1]) } };
  if (pathname === '/console/bulk') return { name: 'bulk', view: bulkView, params: {} };
  return { name: 'fleet', view: fleetView, params: {} };
}

async function render() {
  const generation = ++current;
  const { name, view, params } = route(location.pathname);
  for (const link of document.querySelectorAll('[data-nav]')) link.toggleAttribute('aria-current', link.dataset.nav === name);
  status.textContent = '';
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await view(main, params, contextFor(generation));
  } catch (error) {
    if (generation === current) fill(main, h('p', { class: 'error', role: 'alert' }, error.message));
  }
}

export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  window.scrollTo(0, 0);
  return render();
}

// Links inside the console move between views without reloading the page.
document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[href^="/console"]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || link.target) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', render);

document.getElementById('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = event.target.elements.orderId;
  const orderId = input.value.trim();
  if (!orderId) return;
  input.value = '';
  navigate(`/console/orders/${encodeURIComponent(orderId)}`);
});

document.getElementById('sign-out').addEventListener('click', async () => {
  await signOut().catch(() => undefined);
  location.replace('/console/sign-in');
});

render();
