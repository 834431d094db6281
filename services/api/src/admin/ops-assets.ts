// The overview page's only assets, served by the api itself: no CDN, nothing fetched from
// elsewhere, so the page works on an isolated operations network and under a strict CSP.

export const opsCss = `
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fff; --muted: #5f6368; --line: #d0d4d9;
  --bar: #1d70b8; --limit: #d4351c; --warn: #b3261e; --ok: #00703c; --amber: #f47738;
  --amber-text: #8a3a00; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8eaed; --bg: #14161a; --muted: #9aa0a6; --line: #3c4043; --bar: #5694ca;
    --limit: #f28b82; --warn: #f28b82; --ok: #81c995; --amber: #fdd663; --amber-text: #fdd663; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 1rem; font: 15px/1.45 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid var(--line); }
a { color: var(--bar); }
a:focus, input:focus, summary:focus { outline: 3px solid #fd0; outline-offset: 1px; }
.controls, .generated { color: var(--muted); }
#refresh-status { margin-left: 1rem; }
#refresh-error { margin-left: 1rem; color: var(--warn); font-weight: 600; }
/* Empty, they would still hold their margin past the end of a wrapped line. */
#refresh-status:empty, #refresh-error:empty { display: none; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: var(--warn); font-weight: 600; }
.chart { width: 100%; height: auto; max-height: 260px; }
.chart .bar { fill: var(--bar); }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 11px; }
.chart .limit { stroke: var(--limit); stroke-dasharray: 6 4; stroke-width: 1.5; }
.chart .limit-label { fill: var(--limit); font-size: 11px; }
details { margin: .25rem 0 1rem; }
code { overflow-wrap: anywhere; }
td.cause { overflow-wrap: break-word; min-width: 14rem; max-width: 32rem; }
td.id, th.id { overflow-wrap: anywhere; }
.verdict { border: 2px solid var(--line); border-left-width: .6rem; border-radius: 4px;
  padding: .5rem 1rem; margin: .75rem 0 1rem; }
.verdict h2 { border: 0; margin: .25rem 0; }
.verdict ul { margin: .25rem 0; padding-left: 1.25rem; }
.verdict-healthy { border-color: var(--ok); }
.verdict-degraded { border-color: var(--amber); }
.verdict-down { border-color: var(--warn); }
.verdict-healthy h2 { color: var(--ok); }
.verdict-degraded h2 { color: var(--amber-text); }
.verdict-down h2 { color: var(--warn); }
.reason-down a { color: var(--warn); font-weight: 600; }
a.action { display: inline-block; margin-top: .25rem; padding: .1rem .5rem; border: 1px solid var(--bar);
  border-radius: 3px; font-weight: 600; text-decoration: none; }
/* Phone width: every row of a .stack table becomes a card of label/value lines, so nothing runs
   off the screen (no horizontal scrolling). */
@media (max-width: 700px) {
  /* A long unbroken token (an id, a timestamp in a cause) breaks rather than widen the page. */
  body { padding: .5rem; font-size: 14px; overflow-wrap: anywhere; }
  table.stack, table.stack tbody, table.stack tr, table.stack th, table.stack td { display: block; width: 100%; }
  table.stack caption { display: block; text-align: left; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack tr { border: 1px solid var(--line); border-radius: 4px; margin: 0 0 .5rem; padding: .25rem 0; }
  table.stack th[scope="row"] { border-bottom: 1px solid var(--line); font-weight: 700; }
  table.stack td { border: 0; display: flex; gap: .75rem; justify-content: space-between; text-align: right; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-weight: normal;
    text-align: left; flex: 0 0 40%; }
  /* Numbers only (the queues): two label/value pairs a line. */
  table.stack.compact td { display: inline-flex; width: 50%; padding-right: 1rem; }
  table.stack.compact td::before { flex: 1 1 auto; }
  table.stack td.cause, table.stack td.id { display: block; text-align: left; max-width: none; }
  table.stack td.cause::before, table.stack td.id::before { display: block; }
}
@media (prefers-reduced-motion: no-preference) { .chart .bar { transition: height .2s; } }
`;

/**
 * Refreshes the page in place: fetches /ops again (same origin, so the browser re-sends the Basic
 * credentials) and swaps <main>, keeping open tables open. Skipped while the tab is hidden or the
 * operator unticked the box; without JavaScript the page is simply static.
 */
export const opsJs = `
'use strict';
(() => {
  const intervalMs = 15000;
  const toggle = document.getElementById('auto-refresh');
  const status = document.getElementById('refresh-status');
  const failure = document.getElementById('refresh-error');
  let busy = false;
  async function refresh() {
    if (busy || !toggle.checked || document.visibilityState !== 'visible') return;
    busy = true;
    try {
      const response = await fetch(location.pathname, {
        credentials: 'same-origin', cache: 'no-store', headers: { accept: 'text/html' },
      });
      if (!response.ok) throw new Error('the server answered ' + response.status);
      const page = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = page.getElementById('main');
      const current = document.getElementById('main');
      if (fresh === null || current === null) throw new Error('unexpected page');
      const open = [...current.querySelectorAll('details[open]')].map((element) => element.id);
      current.replaceWith(document.adoptNode(fresh));
      for (const id of open) document.getElementById(id)?.setAttribute('open', '');
      status.textContent = 'Updated ' + new Date().toLocaleTimeString();
      failure.textContent = '';
    } catch (error) {
      failure.textContent = 'Refresh failed: ' + error.message;
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, intervalMs);
  document.addEventListener('visibilitychange', refresh);
})();
`;

/** A favicon of our own, so the browser does not ask for /favicon.ico (a 404 in the console). */
export const opsFavicon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d70b8"/><path d="M3 12V8h2v4zm4 0V4h2v8zm4 0V6h2v6z" fill="#fff"/></svg>';
