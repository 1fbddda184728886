// The quarantine page. Plain JavaScript, no build step. Everything that comes from a message is put on the
// page as text (textContent), never as HTML, so a held message cannot run code or load anything here.
'use strict';

const TOKEN_KEY = 'sluice.adminToken';
const ACTIONS = ['accept', 'tag', 'quarantine', 'reject', 'tempfail'];
const ACTION_LABELS = { accept: 'Accepted', tag: 'Tagged', quarantine: 'Quarantined', reject: 'Rejected', tempfail: 'Deferred' };
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const state = { offset: 0, limit: 50, total: 0, entries: [], filters: {}, selected: new Set(), current: null, info: null, chart: null };

/** Builds an element: el('td', { className: 'num' }, 'text', childNode). Strings become text nodes. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('aria-') || k === 'role' || k === 'scope') node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

// --- talking to the API -------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: options.method || 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('The token was not accepted.');
  if (options.raw) {
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return res;
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

function announce(text, kind = 'info') {
  const status = $('status');
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = !text;
}

function handleError(err) {
  if (err instanceof Unauthorized) return signOut('Your token is no longer accepted; sign in again.');
  announce(err.message || String(err), 'error');
}

// --- signing in ------------------------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    state.info = await api('/api/info');
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('whoami').hidden = false;
  $('whoami').textContent = `${state.info.who} on ${state.info.hostname}`;
  $('d-release-learn').hidden = !state.info.learn.ham;
  $('d-learn-spam').hidden = !state.info.learn.spam;
  await Promise.all([loadOverview(), loadList()]);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.entries = [];
  state.selected.clear();
  if ($('detail').open) $('detail').close();
  $('app').hidden = true;
  $('logout').hidden = true;
  $('whoami').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  announce('');
  $('token').value = '';
  $('token').focus();
}

// --- the overview chart -----------------------------------------------------------------------------------

async function loadOverview() {
  const [minutes, step] = $('period').value.split(':');
  const data = await api(`/api/overview?minutes=${minutes}&step=${step}`);
  renderTotals(data);
  renderChart(data);
}

function renderTotals(data) {
  const list = $('totals');
  list.replaceChildren(
    ...ACTIONS.map((a) => el('li', { className: `total ${a}` }, el('span', { className: 'swatch', 'aria-hidden': 'true' }), el('span', { className: 'label' }, ACTION_LABELS[a]), el('strong', {}, data.totals[a].toLocaleString()))),
    el('li', { className: 'total held' }, el('span', { className: 'label' }, 'Held now'), el('strong', {}, data.quarantined.toLocaleString())),
  );
}

/** Stacked bars, one per time bucket, drawn as inline SVG (no library, no remote resource). */
function renderChart(data) {
  state.chart = data;
  const n = data.counts.accept.length;
  // Drawn at the container's own width, so text and bars are never stretched.
  const width = Math.max(320, Math.round($('chart').clientWidth || 720));
  const height = 180;
  const pad = { left: 40, right: 8, top: 10, bottom: 24 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const sums = Array.from({ length: n }, (_, i) => ACTIONS.reduce((s, a) => s + data.counts[a][i], 0));
  const max = Math.max(1, ...sums);
  const top = niceCeiling(max);
  const barW = innerW / n;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': 'chart-caption', class: 'chart-svg' });
  for (const frac of top >= 2 ? [0, 0.5, 1] : [0, 1]) {
    const y = pad.top + innerH * (1 - frac);
    root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: pad.left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, document.createTextNode(String(Math.round(top * frac)))));
  }
  for (let i = 0; i < n; i++) {
    let y = pad.top + innerH;
    const start = new Date(data.start + i * data.step);
    const group = svg('g', {});
    const parts = [];
    for (const a of ACTIONS) {
      const v = data.counts[a][i];
      if (!v) continue;
      const h = (v / top) * innerH;
      y -= h;
      group.append(svg('rect', { x: pad.left + i * barW + barW * 0.1, y, width: Math.max(1, barW * 0.8), height: h, class: `bar ${a}` }));
      parts.push(`${ACTION_LABELS[a]} ${v}`);
    }
    group.append(svg('title', {}, document.createTextNode(`${formatTime(start)}: ${parts.join(', ') || 'nothing'}`)));
    root.append(group);
  }
  const labels = [0, Math.floor(n / 2), n - 1];
  for (const i of new Set(labels)) {
    const x = pad.left + i * barW + barW / 2;
    const label = i === n - 1 ? 'now' : formatClock(new Date(data.start + i * data.step));
    root.append(svg('text', { x, y: height - 6, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle' }, document.createTextNode(label)));
  }
  $('chart').replaceChildren(root);
  const total = sums.reduce((s, v) => s + v, 0);
  const stepText = data.step >= 3_600_000 ? `${data.step / 3_600_000} h` : `${data.step / 60_000} min`;
  $('chart-caption').textContent = `Messages by action, ${stepText} per bar, ${total.toLocaleString()} in all since ${formatTime(new Date(data.start))}. Counted by this gateway since it started.`;
}

/** The axis top: a round number at or above v whose half is a whole number too (axis ticks at 0, ½, 1). */
function niceCeiling(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// --- the list ------------------------------------------------------------------------------------------------

async function loadList() {
  const params = new URLSearchParams({ limit: String(state.limit), offset: String(state.offset) });
  for (const [k, v] of Object.entries(state.filters)) if (v !== '' && v !== undefined) params.set(k, v);
  const data = await api(`/api/quarantine?${params}`);
  // Paged past the end (after releases): go back to the last page.
  if (!data.entries.length && data.total > 0 && state.offset > 0) {
    state.offset = Math.max(0, Math.floor((data.total - 1) / state.limit) * state.limit);
    return loadList();
  }
  state.total = data.total;
  state.entries = data.entries;
  for (const id of [...state.selected]) if (!data.entries.some((e) => e.id === id)) state.selected.delete(id);
  renderList();
}

function renderList() {
  const rows = state.entries.map((e) => {
    const box = el('input', { type: 'checkbox', checked: state.selected.has(e.id), 'aria-label': `Select ${e.subject || '(no subject)'}`, dataset: { id: e.id } });
    box.addEventListener('change', () => {
      if (box.checked) state.selected.add(e.id);
      else state.selected.delete(e.id);
      renderSelection();
    });
    const open = el('button', { type: 'button', className: 'link', dataset: { id: e.id } }, e.subject || '(no subject)');
    open.addEventListener('click', () => openDetail(e.id).catch(handleError));
    const why = [...e.symbols].sort((a, b) => b.score - a.score).slice(0, 3).map((s) => `${s.name} ${formatScore(s.score)}`).join(', ');
    return el('tr', { dataset: { id: e.id } },
      el('td', { className: 'check' }, box),
      el('td', { className: 'nowrap' }, el('time', { dateTime: new Date(e.time).toISOString() }, formatTime(new Date(e.time)))),
      el('td', { className: 'addr', title: e.mailFrom }, e.mailFrom || '<>'),
      el('td', { className: 'addr', title: e.rcptTo.join(', ') }, e.rcptTo.join(', ')),
      el('td', { className: 'subject' }, open),
      el('td', { className: 'num' }, el('span', { className: `score ${scoreClass(e.score)}` }, formatScore(e.score))),
      el('td', { className: 'why' }, why + (e.symbols.length > 3 ? ` +${e.symbols.length - 3}` : '')),
    );
  });
  $('list').tBodies[0].replaceChildren(...rows);
  $('empty').hidden = state.entries.length > 0;
  const from = state.total ? state.offset + 1 : 0;
  const to = state.offset + state.entries.length;
  $('page-text').textContent = state.total ? `${from.toLocaleString()}–${to.toLocaleString()} of ${state.total.toLocaleString()}` : 'None held';
  $('prev').disabled = state.offset === 0;
  $('next').disabled = to >= state.total;
  renderSelection();
}

function renderSelection() {
  const n = state.selected.size;
  $('release-selected').disabled = n === 0;
  $('delete-selected').disabled = n === 0;
  $('selection-count').textContent = n ? `${n} selected` : '';
  const all = $('select-all');
  all.checked = n > 0 && state.entries.every((e) => state.selected.has(e.id));
  all.indeterminate = n > 0 && !all.checked;
}

// --- one message ------------------------------------------------------------------------------------------------

async function openDetail(id) {
  const data = await api(`/api/quarantine/${encodeURIComponent(id)}`);
  state.current = data;
  const e = data.entry;
  $('detail-title').textContent = e.subject || '(no subject)';
  const meta = [
    ['Received', formatTime(new Date(e.time))],
    ['From', e.mailFrom || '<>'],
    ['To', e.rcptTo.join(', ')],
    ['Client', `${e.clientIp} (HELO ${e.helo || '-'})`],
    ['Score', `${formatScore(e.score)} (${e.action})`],
    ['Size', formatBytes(e.size)],
    ['Id', e.id],
  ];
  $('detail-meta').replaceChildren(...meta.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const symbols = [...e.symbols].sort((a, b) => b.score - a.score);
  $('detail-symbols').tBodies[0].replaceChildren(...symbols.map((s) => el('tr', {}, el('td', {}, el('code', {}, s.name)), el('td', { className: 'num' }, formatScore(s.score)))));
  $('detail-auth').replaceChildren(...(data.authResults.length
    ? data.authResults.map((r) => el('li', {}, el('strong', {}, r.method.toUpperCase()), ' ', el('span', { className: `result ${r.result}` }, r.result),
      ' ', Object.entries(r.props).map(([k, v]) => `${k}=${v}`).join(' '), r.reason ? ` (${r.reason})` : ''))
    : [el('li', { className: 'hint' }, 'No authentication results recorded.')]));
  const sources = { text: 'plain text part', html: 'HTML part shown as text; nothing in it is loaded', none: 'no text' };
  $('preview-source').textContent = `(${sources[data.preview.source]}${data.preview.truncated ? ', shortened' : ''})`;
  $('preview').textContent = data.preview.text || (data.parseError ? `The message could not be parsed: ${data.parseError}` : '');
  $('detail-headers').tBodies[0].replaceChildren(...data.headers.map((h) => el('tr', {}, el('th', { scope: 'row' }, h.name), el('td', {}, h.value))));
  $('detail-attachments').replaceChildren(...data.attachments.map((a) => el('li', {}, `Attachment: ${a.filename || '(unnamed)'} — ${a.contentType}, ${formatBytes(a.size)}`)));
  if (!$('detail').open) $('detail').showModal();
  $('close-detail').focus();
}

async function download(id) {
  const res = await api(`/api/quarantine/${encodeURIComponent(id)}/raw`, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = el('a', { href: url, download: `${id}.eml` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// --- actions ------------------------------------------------------------------------------------------------

const ACTION_REQUESTS = {
  release: (id) => api(`/api/quarantine/${id}/release`, { method: 'POST', body: { learn: false } }),
  releaseLearn: (id) => api(`/api/quarantine/${id}/release`, { method: 'POST', body: { learn: true } }),
  learnSpam: (id) => api(`/api/quarantine/${id}/learn-spam`, { method: 'POST', body: {} }),
  delete: (id) => api(`/api/quarantine/${id}`, { method: 'DELETE' }),
};
const DONE = { release: 'released', releaseLearn: 'released and learned as ham', learnSpam: 'learned as spam', delete: 'deleted' };

/** Runs one action on several messages, a few at a time, and says how it went. */
async function act(action, ids, confirmed = false) {
  if (action === 'delete' && !confirmed && !confirm(ids.length === 1 ? 'Delete this message for good?' : `Delete ${ids.length} messages for good?`)) return;
  announce(`Working on ${ids.length} message${ids.length === 1 ? '' : 's'}…`);
  const failures = [];
  let done = 0;
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      try {
        await ACTION_REQUESTS[action](id);
        done++;
        state.selected.delete(id);
      } catch (err) {
        if (err instanceof Unauthorized) throw err;
        failures.push(`${id}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, ids.length) }, worker));
  const summary = `${done} ${done === 1 ? 'message' : 'messages'} ${DONE[action]}.`;
  announce(failures.length ? `${summary} ${failures.length} failed: ${failures.join('; ')}` : summary, failures.length ? 'error' : 'ok');
  await Promise.all([loadList(), loadOverview()]);
}

async function actOnCurrent(action) {
  const id = state.current?.entry.id;
  if (!id) return;
  if (action === 'delete' && !confirm('Delete this message for good?')) return;
  if (action !== 'learnSpam' && $('detail').open) $('detail').close();
  await act(action, [id], true);
  if (action === 'learnSpam') await openDetail(id);
}

// --- formatting --------------------------------------------------------------------------------------------

function pad2(n) {
  return String(n).padStart(2, '0');
}
function formatTime(d) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}
function formatClock(d) {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}
function formatScore(s) {
  return (Math.round(s * 10) / 10).toFixed(1);
}
function formatBytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1048576).toFixed(1)} MB`;
}
function scoreClass(s) {
  return s >= 15 ? 'high' : s >= 10 ? 'mid' : 'low';
}
function localInputToMs(value) {
  if (!value) return '';
  const t = new Date(value).getTime();
  return Number.isFinite(t) ? String(t) : '';
}

// --- wiring ----------------------------------------------------------------------------------------------------

function wire() {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('login-error').textContent = '';
    signIn($('token').value.trim()).catch((err) => {
      $('login-error').textContent = err instanceof Unauthorized ? 'That token was not accepted.' : `Could not sign in: ${err.message}`;
    });
  });
  $('logout').addEventListener('click', () => signOut());
  $('filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    state.filters = {
      sender: String(f.get('sender') || '').trim(),
      recipient: String(f.get('recipient') || '').trim(),
      symbol: String(f.get('symbol') || '').trim().toUpperCase(),
      minScore: String(f.get('minScore') || '').trim(),
      since: localInputToMs(String(f.get('since') || '')),
      until: localInputToMs(String(f.get('until') || '')),
    };
    state.offset = 0;
    loadList().catch(handleError);
  });
  $('filters').addEventListener('reset', () => {
    state.filters = {};
    state.offset = 0;
    setTimeout(() => loadList().catch(handleError));
  });
  $('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - state.limit);
    loadList().catch(handleError);
  });
  $('next').addEventListener('click', () => {
    state.offset += state.limit;
    loadList().catch(handleError);
  });
  $('page-size').addEventListener('change', () => {
    state.limit = Number($('page-size').value);
    state.offset = 0;
    loadList().catch(handleError);
  });
  $('select-all').addEventListener('change', () => {
    for (const e of state.entries) {
      if ($('select-all').checked) state.selected.add(e.id);
      else state.selected.delete(e.id);
    }
    renderList();
  });
  $('release-selected').addEventListener('click', () => act('release', [...state.selected]).catch(handleError));
  $('delete-selected').addEventListener('click', () => act('delete', [...state.selected]).catch(handleError));
  $('period').addEventListener('change', () => loadOverview().catch(handleError));
  $('refresh').addEventListener('click', () => Promise.all([loadOverview(), loadList()]).catch(handleError));
  $('close-detail').addEventListener('click', () => $('detail').close());
  $('d-release').addEventListener('click', () => actOnCurrent('release').catch(handleError));
  $('d-release-learn').addEventListener('click', () => actOnCurrent('releaseLearn').catch(handleError));
  $('d-learn-spam').addEventListener('click', () => actOnCurrent('learnSpam').catch(handleError));
  $('d-delete').addEventListener('click', () => actOnCurrent('delete').catch(handleError));
  $('d-download').addEventListener('click', () => state.current && download(state.current.entry.id).catch(handleError));

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => state.chart && renderChart(state.chart), 150);
  });

  announce('');
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch(() => signOut('Sign in again.'));
  else $('token').focus();
}

wire();
