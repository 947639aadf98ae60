// Feature Relay dashboard: polls /api/v1/dashboard (figures built from the services' metrics) and draws them.
'use strict';

const state = { view: null, selected: null, refreshMillis: 2000, summaries: {} };
const charts = {};
const COLORS = { base: '#6b4fbb', transfer: '#1f77b4', scratch: '#d62728' };

function $(id) { return document.getElementById(id); }

function fmt(x, digits) { return x == null ? '-' : Number(x).toFixed(digits); }

/** Creates the chart on first use; afterwards only its data changes (no flicker, no re-creation). */
function upsertChart(id, type, labels, datasets, options) {
  if (charts[id]) {
    charts[id].data.labels = labels;
    charts[id].data.datasets = datasets;
    charts[id].update('none');
    return;
  }
  charts[id] = new Chart($(id), { type, data: { labels, datasets }, options: { animation: false, responsive: true, ...options } });
}

function lineChart(id, datasets, labels) {
  upsertChart(id, 'line', labels, datasets, {
    spanGaps: true,
    scales: {
      x: { title: { display: true, text: 'epoch' } },
      y: { title: { display: true, text: 'validation accuracy' }, suggestedMin: 0.5, suggestedMax: 1 }
    }
  });
}

function barChart(id, labels, values, colors) {
  upsertChart(id, 'bar', labels, [{ label: 'training seconds', data: values, backgroundColor: colors }], {
    plugins: { legend: { display: false } },
    scales: { y: { title: { display: true, text: 'seconds' }, beginAtZero: true } }
  });
}

function show(id, visible) { $(id).hidden = !visible; }

function renderSources(view) {
  const list = $('sources');
  // a service with several replicas lists each by its URL
  const replicas = name => view.sources.filter(s => s.name === name).length;
  list.replaceChildren(...view.sources.map(s => {
    const li = document.createElement('li');
    li.className = s.state;
    li.dataset.name = s.name;
    li.dataset.url = s.url;
    const label = replicas(s.name) > 1 ? `${s.name} (${s.url})` : s.name;
    li.textContent = `${label}: ${s.state === 'UP' ? 'up' : s.state === 'NOT_READY' ? 'not ready' : 'unreachable'}`;
    li.title = s.detail ? `${s.url} — ${s.detail}` : s.url;
    return li;
  }));
  const problems = view.sources.filter(s => s.state !== 'UP');
  const banner = $('problems');
  banner.hidden = problems.length === 0;
  banner.replaceChildren(...problems.map(s => {
    const p = document.createElement('p');
    p.className = 'problem';
    p.dataset.name = s.name;
    p.dataset.url = s.url;
    p.textContent = `${s.name} at ${s.url} is ${s.state === 'NOT_READY' ? 'not ready' : 'unreachable'}`
      + (s.detail ? `: ${s.detail}` : '') + '. Figures from it are missing until it answers.';
    return p;
  }));
}

/** Every replica of transfer-service is unreachable (one that answers serves model 2's summary). */
function transferServiceDown(view) {
  const replicas = view.sources.filter(s => s.name === 'transfer-service');
  return replicas.length > 0 && replicas.every(s => s.state === 'UNREACHABLE');
}

function runOptions(view) {
  const options = view.transfers.map(t => ({
    value: 'transfer:' + t.run,
    text: `${t.run}  ←  ${t.baseRun || '?'}${t.target ? ' (' + t.target + ')' : ''}`
  }));
  const fed = new Set(view.transfers.map(t => t.baseRun));
  const why = transferServiceDown(view) ? 'transfer-service unreachable' : 'no transfer yet';
  view.baseRuns.filter(b => !fed.has(b.run)).forEach(b =>
    options.push({ value: 'base:' + b.run, text: `${b.run} (base model, ${why})` }));
  return options;
}

function renderPicker(view) {
  const picker = $('run-picker');
  const options = runOptions(view);
  const values = options.map(o => o.value);
  if (!values.includes(state.selected)) {
    state.selected = values[0] || null;
  }
  if (picker.dataset.values !== values.join('|')) {
    picker.replaceChildren(...options.map(o => new Option(o.text, o.value)));
    picker.dataset.values = values.join('|');
  }
  picker.value = state.selected;
}

function selection(view) {
  if (!state.selected) {
    return {};
  }
  const [kind, run] = [state.selected.slice(0, state.selected.indexOf(':')), state.selected.slice(state.selected.indexOf(':') + 1)];
  const transfer = kind === 'transfer' ? view.transfers.find(t => t.run === run) : null;
  const baseId = transfer ? transfer.baseRun : run;
  return { transfer, base: view.baseRuns.find(b => b.run === baseId), baseId };
}

function renderProgress(view) {
  const running = [];
  view.baseRuns.forEach(b => b.progress && running.push(['base', b.run, b.progress]));
  view.transfers.forEach(t => {
    if (t.transfer && t.transfer.progress) running.push(['transfer', t.run, t.transfer.progress]);
    if (t.scratch && t.scratch.progress) running.push(['scratch', t.run, t.scratch.progress]);
  });
  show('progress-section', running.length > 0);
  $('progress').replaceChildren(...running.map(([role, run, p]) => {
    const div = document.createElement('div');
    div.className = 'job';
    div.dataset.run = run;
    div.dataset.role = role;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = `${role} ${run}: epoch ${p.epoch ?? '-'}, batch ${p.batch ?? '-'}, `
      + `${fmt(p.imagesPerSecond, 0)} images/s, ETA ${fmt(p.etaSeconds, 0)} s`;
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = p.ratio;
    div.append(label, bar);
    return div;
  }));
}

function renderBase(base) {
  const epochs = base ? base.epochs.filter(e => e.validationAccuracy != null) : [];
  show('base-accuracy-empty', epochs.length === 0);
  $('base-classes').textContent = base && base.classes ? `classes ${base.classes}` : '';
  lineChart('base-accuracy', [{
    label: 'base model', data: epochs.map(e => e.validationAccuracy),
    borderColor: COLORS.base, backgroundColor: COLORS.base
  }], epochs.map(e => e.epoch));
}

function renderComparison(transfer) {
  const t = transfer && transfer.transfer ? transfer.transfer.epochs : [];
  const s = transfer && transfer.scratch ? transfer.scratch.epochs : [];
  const epochs = [...new Set([...t, ...s].map(e => e.epoch))].sort((a, b) => a - b);
  const at = (list, epoch) => { const e = list.find(x => x.epoch === epoch); return e ? e.validationAccuracy : null; };
  show('transfer-accuracy-empty', epochs.length === 0);
  $('target-classes').textContent = transfer && transfer.classes ? `classes ${transfer.classes}` : '';
  lineChart('transfer-accuracy', [
    { label: 'model 2 (transferred)', data: epochs.map(e => at(t, e)), borderColor: COLORS.transfer, backgroundColor: COLORS.transfer },
    { label: 'from scratch', data: epochs.map(e => at(s, e)), borderColor: COLORS.scratch, backgroundColor: COLORS.scratch }
  ], epochs);
}

function renderTimes(base, transfer) {
  const models = [['base', base], ['transfer', transfer && transfer.transfer], ['scratch', transfer && transfer.scratch]]
    .filter(([, m]) => m && m.trainingSeconds != null);
  show('training-time-empty', models.length === 0);
  barChart('training-time',
    models.map(([role, m]) => `${role} (${fmt(m.imagesPerSecond, 0)} images/s)`),
    models.map(([, m]) => m.trainingSeconds),
    models.map(([role]) => COLORS[role]));
}

async function renderSummary(transfer) {
  const body = $('summary').tBodies[0];
  const foot = $('summary').tFoot;
  if (!transfer) {
    body.replaceChildren();
    foot.replaceChildren();
    $('summary-empty').textContent = transferServiceDown(state.view)
      ? 'transfer-service is unreachable: model 2 cannot be shown.' : 'No transfer for this run yet.';
    show('summary-empty', true);
    return;
  }
  let summary = state.summaries[transfer.run];
  if (!summary) {
    try {
      const r = await fetch(`/api/v1/dashboard/transfers/${encodeURIComponent(transfer.run)}/summary`);
      const status = r.ok ? await r.json() : null;
      summary = status && status.summary;
      if (summary) state.summaries[transfer.run] = summary;
    } catch (e) {
      summary = null;
    }
  }
  show('summary-empty', !summary);
  if (!summary) {
    body.replaceChildren();
    foot.replaceChildren();
    return;
  }
  body.replaceChildren(...summary.layers.map(l => {
    const tr = document.createElement('tr');
    tr.className = l.params === 0 ? '' : l.trainable ? 'trainable' : 'frozen';
    [l.name, l.type, '[' + l.outputShape.join(', ') + ']', l.params.toLocaleString('en-US'),
      l.params === 0 ? '-' : l.trainable ? 'yes' : 'frozen'].forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 3) td.className = 'num';
      tr.append(td);
    });
    return tr;
  }));
  const m = transfer.transfer || {};
  const totals = [['Total', summary.totalParams], ['Trainable', m.trainableParams ?? summary.trainableParams],
    ['Frozen', m.frozenParams ?? summary.frozenParams]];
  foot.replaceChildren(...totals.map(([name, value]) => {
    const tr = document.createElement('tr');
    tr.id = 'total-' + name.toLowerCase();
    tr.innerHTML = `<td colspan="3">${name} params</td><td class="num"></td><td></td>`;
    tr.children[1].textContent = value == null ? '-' : value.toLocaleString('en-US');
    return tr;
  }));
}

function render(view) {
  state.view = view;
  renderSources(view);
  $('source').textContent = view.source === 'prometheus' ? 'Prometheus' : 'the services\' /q/metrics';
  $('generated').textContent = new Date(view.generatedAt).toLocaleTimeString();
  const empty = view.baseRuns.length === 0 && view.transfers.length === 0;
  show('empty', empty);
  show('figures', !empty);
  document.body.dataset.state = empty ? 'empty' : 'runs';
  if (empty) return;
  renderPicker(view);
  renderProgress(view);
  const { transfer, base, baseId } = selection(view);
  $('lineage').textContent = transfer ? `base model ${baseId} → transfer ${transfer.run}` : `base model ${baseId}`;
  renderBase(base);
  renderComparison(transfer);
  renderTimes(base, transfer);
  renderSummary(transfer).then(() => { document.body.dataset.rendered = String(Date.now()); });
}

async function refresh() {
  try {
    const r = await fetch('/api/v1/dashboard');
    if (!r.ok) throw new Error('the dashboard answered ' + r.status);
    render(await r.json());
  } catch (e) {
    const banner = $('problems');
    banner.hidden = false;
    banner.textContent = 'The dashboard service is unreachable: ' + e.message;
    document.body.dataset.state = 'dashboard-down';
  } finally {
    setTimeout(refresh, state.refreshMillis);
  }
}

async function start() {
  try {
    const s = await (await fetch('/api/v1/dashboard/settings')).json();
    state.refreshMillis = s.refreshMillis;
    $('refresh').textContent = (s.refreshMillis / 1000).toString();
    document.querySelectorAll('.trainer-url').forEach(e => { e.textContent = s.trainerUrl; });
  } catch (e) {
    // keep the defaults; refresh() reports the problem
  }
  $('run-picker').addEventListener('change', e => { state.selected = e.target.value; render(state.view); });
  refresh();
}

// for tests and for a person at the console: the live chart objects and the data behind them
window.featureRelay = { charts, state };
start();
