// The Hint Inspector's HTML page: one definition for the panel and the benchmark that loads
// the same bundle in Chromium. Its CSP allows the nonce'd bundle and styles (inline, or from
// cspSource) only.
import type { HostToWebview } from '../../../webview/src/messages';

export interface PageSources {
  /** The webview's cspSource: where the script, the stylesheet and images may come from. */
  readonly cspSource: string;
  readonly nonce: string;
  /**
   * The bundle and the stylesheet: by address, or their text in the page itself, which then
   * loads without fetching them (the panel's: two round trips fewer as it opens).
   */
  readonly code: { readonly scriptUri: string; readonly styleUri: string } | { readonly script: string; readonly style: string };
  readonly pid: number;
  /** Messages the page applies as it loads, before it asks for any (the table it opens with). */
  readonly initial?: readonly HostToWebview[];
}

/** @v as JSON that cannot end the script element it sits in. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function inspectorHtml(p: PageSources): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${p.cspSource} 'nonce-${p.nonce}'; script-src 'nonce-${p.nonce}'; img-src ${p.cspSource};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${'style' in p.code ? `<style nonce="${p.nonce}">\n${p.code.style.replace(/<\/style/gi, '<\\/style')}\n</style>` : `<link href="${p.code.styleUri}" rel="stylesheet">`}
<title>Hint Inspector</title>
</head>
<body>
<h1 id="title">Process ${p.pid}</h1>
<p id="message" role="status" aria-live="polite"></p>
<h2>Threads</h2>
<div class="toolbar">
  <input id="filter" placeholder="Filter: tid, comm, value, key name, or key=value" aria-label="Filter threads" size="36">
  <button id="pause" aria-pressed="false">Pause</button>
  <span id="rate"></span>
  <span id="count"></span>
  <button id="export-json">Export JSON</button>
  <button id="export-csv">Export CSV</button>
  <button id="export-trace" title="record hints and scheduling for a few seconds as a Perfetto trace">Export Trace</button>
</div>
<div class="toolbar">
  <label for="set-key">Set</label> <select id="set-key"></select>
  <input id="set-value" aria-label="value for every thread" placeholder="value">
  <button id="set-all">Set in all threads</button>
</div>
<div class="toolbar">
  <label for="group-key">Group by</label> <select id="group-key"><option value="">no key</option></select>
  <span id="group-note"></span>
</div>
<table id="groups" aria-label="threads grouped by a key's value" hidden>
  <thead><tr><th scope="col">value</th><th scope="col">threads</th><th scope="col">wait ms p50</th><th scope="col">wait ms p99</th></tr></thead>
  <tbody id="groups-body"></tbody>
</table>
<div id="scroller">
  <div id="spacer-top"></div>
  <table role="grid" aria-label="thread values">
    <thead><tr id="thead-row"></tr></thead>
    <tbody id="tbody"></tbody>
  </table>
  <div id="spacer-bottom"></div>
</div>
<details id="layout-fold" open>
<summary><h2>Layout of each thread's page</h2></summary>
<div id="layout"></div>
<p id="fill"></p>
<div id="legend"></div>
</details>
<details id="plot-fold" open>
<summary><h2>Plot</h2></summary>
<div class="toolbar">
  <label for="plot-key">Key</label> <select id="plot-key"></select>
  <label for="plot-mode">Show</label>
  <select id="plot-mode">
    <option value="time">the first threads over time</option>
    <option value="histogram">a histogram over threads</option>
    <option value="scatter">each thread, against</option>
  </select>
  <label for="plot-against">figure</label> <select id="plot-against"></select>
  <span id="plot-note"></span>
</div>
<canvas id="plot" class="plot" role="img" aria-label="plot"></canvas>
<p id="plot-summary"></p>
<div id="plot-legend"></div>
</details>
${p.initial?.length ? `<script type="application/json" id="tld-initial">${scriptJson(p.initial)}</script>\n` : ''}${'script' in p.code ? `<script nonce="${p.nonce}">\n${p.code.script.replace(/<\/script/gi, '<\\/script')}\n</script>` : `<script nonce="${p.nonce}" src="${p.code.scriptUri}"></script>`}
</body>
</html>`;
}
