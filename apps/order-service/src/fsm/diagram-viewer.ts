import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The scripts the viewer page loads, served by the service itself (the CSP allows scripts from
 * 'self' only, and none inline): Panzoom (@panzoom/panzoom), and the few lines that bind it to the
 * page's buttons, wheel and pointer.
 */
export const VIEWER_ASSETS: Readonly<Record<string, () => string>> = {
  'panzoom.min.js': once(() => readFileSync(createRequire(import.meta.url).resolve('@panzoom/panzoom/dist/panzoom.min.js'), 'utf8')),
  'viewer.js': () => VIEWER_SCRIPT,
};

function once(read: () => string): () => string {
  let text: string | undefined;
  return () => (text ??= read());
}

const VIEWER_SCRIPT = `// order-fsm's diagram viewer: the machine fits the window; the wheel and the buttons zoom, a drag pans.
(function () {
  'use strict';
  var stage = document.getElementById('stage');
  var diagram = document.getElementById('diagram');
  var scale = document.getElementById('scale');
  var panzoom = Panzoom(diagram, { canvas: true, minScale: 0.25, maxScale: 16, step: 0.25 });
  stage.addEventListener('wheel', panzoom.zoomWithWheel);
  document.getElementById('zoom-in').addEventListener('click', function () { panzoom.zoomIn(); });
  document.getElementById('zoom-out').addEventListener('click', function () { panzoom.zoomOut(); });
  document.getElementById('reset').addEventListener('click', function () { panzoom.reset(); });
  diagram.addEventListener('panzoomchange', function (event) {
    scale.textContent = Math.round(event.detail.scale * 100) + '%';
    diagram.dataset.scale = String(event.detail.scale);
    diagram.dataset.x = String(event.detail.x);
    diagram.dataset.y = String(event.detail.y);
  });
})();
`;

/**
 * A page that shows an SVG diagram fitted to the window, with zoom and pan. The SVG is inlined (its
 * XML prolog left out); the page's styles are inline (the CSP allows them), its scripts are files of
 * the service, relative to /fsm/diagram.
 */
export function diagramViewerPage(svg: string): string {
  const body = svg.slice(svg.indexOf('<svg'));
  // Graphviz's own title of the graph, escaped as XML already: it goes into the page as it is.
  const title = /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? 'the machine';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title} - order-fsm</title>
<style>
  html, body { margin: 0; height: 100%; overflow: hidden; font: 14px system-ui, sans-serif; color: #222; }
  header { position: absolute; top: 0; left: 0; right: 0; height: 40px; box-sizing: border-box; display: flex; align-items: center; gap: 8px; padding: 0 12px; border-bottom: 1px solid #ddd; background: #fafafa; }
  header h1 { font-size: 15px; font-weight: 600; margin: 0 12px 0 0; }
  button { font: inherit; min-width: 32px; padding: 2px 8px; cursor: pointer; }
  #scale { min-width: 48px; color: #555; }
  #stage { position: absolute; top: 40px; left: 0; right: 0; bottom: 0; overflow: hidden; cursor: grab; background: white; }
  #diagram { width: 100%; height: 100%; }
  #diagram svg { display: block; width: 100%; height: 100%; }
</style>
<script src="diagram/assets/panzoom.min.js" defer></script>
<script src="diagram/assets/viewer.js" defer></script>
</head>
<body>
<header>
  <h1>${title}</h1>
  <button id="zoom-out" type="button" title="Zoom out">&minus;</button>
  <button id="zoom-in" type="button" title="Zoom in">+</button>
  <button id="reset" type="button" title="Fit the window">Fit</button>
  <span id="scale">100%</span>
  <span>Wheel to zoom, drag to pan.</span>
</header>
<main id="stage"><div id="diagram">${body}</div></main>
</body>
</html>
`;
}
