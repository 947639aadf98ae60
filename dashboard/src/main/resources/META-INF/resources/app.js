// Feature Relay dashboard: polls /api/v1/dashboard (figures built from the services' metrics) and draws them
// (figures 1-4 here; common.js, learning-curve.js and compare.js are loaded before it).
'use strict';

function barChart(id, labels, values, colors) {
  upsertChart(id, 'bar', labels, [{ label: 'training seconds', data: values, backgroundColor: colors }], {
    plugins: { legend: { display: false } },
    scales: { y: { title: { display: true, text: 'seconds' }, beginAtZero: true } }
  });
}

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
    text: `${t.run}  ←  ${t.baseRun || '?'}${t.target ? ' (' + t.target + ')' : ''}${t.fineTune ? ', fine-tuned' : ''}`
  }));
  const fed = new Set(view.transfers.map(t => t.baseRun));
  const why = transferServiceDown(view) ? 'transfer-service unreachable' : 'no transfer yet';
  view.baseRuns.filter(b => !fed.has(b.run)).forEach(b =>
    options.push({ value: 'base:' + b.run, text: `${b.run} (base model, ${why})` }));
  return options;
}

function renderPicker(view) {
  state.selected = fillPicker($('run-picker'), runOptions(view), state.selected);
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
    if (t.fineTune && t.fineTune.progress) running.push(['fine-tune', t.run, t.fineTune.progress]);
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
  const t = transfer && transfer.transfer;
  const s = transfer && transfer.scratch;
  const f = transfer && transfer.fineTune;
  const offset = fineTuneOffset(transfer);
  const epochs = epochAxis([[t, 0], [s, 0], [f, offset]]);
  show('transfer-accuracy-empty', epochs.length === 0);
  $('target-classes').textContent = transfer && transfer.classes ? `classes ${transfer.classes}` : '';
  const run = transfer && transfer.run;
  const lines = [
    epochLine(t, 'transfer', run, epochs, 0, { label: 'model 2 (transferred)', borderColor: COLORS.transfer, backgroundColor: COLORS.transfer }),
    epochLine(s, 'scratch', run, epochs, 0, { label: 'from scratch', borderColor: COLORS.scratch, backgroundColor: COLORS.scratch })
  ];
  if (f) {
    lines.push(epochLine(f, 'fine-tune', run, epochs, offset, {
      label: offset ? `fine-tuned (after model 2's epoch ${offset})` : 'fine-tuned',
      borderColor: COLORS['fine-tune'], backgroundColor: COLORS['fine-tune']
    }));
  }
  lineChart('transfer-accuracy', lines, epochs);
}

function renderTimes(base, transfer) {
  const models = [['base', base], ['transfer', transfer && transfer.transfer], ['scratch', transfer && transfer.scratch],
    ['fine-tune', transfer && transfer.fineTune]]
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
  renderParamsByModel(transfer);
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

/** Frozen and trainable counts of each model of the run, from the metrics (fine-tune: every parameter trains). */
function renderParamsByModel(transfer) {
  const models = transfer ? [['transfer', transfer.transfer], ['fine-tune', transfer.fineTune], ['scratch', transfer.scratch]]
    .filter(([, m]) => m && (m.frozenParams != null || m.trainableParams != null)) : [];
  const table = $('params-by-model');
  table.hidden = models.length < 2;
  table.tBodies[0].replaceChildren(...models.map(([role, m]) => {
    const tr = document.createElement('tr');
    tr.dataset.role = role;
    [ROLE_NAMES[role], m.frozenParams, m.trainableParams].forEach((value, i) => {
      const td = document.createElement('td');
      td.textContent = i === 0 ? value : value == null ? '-' : value.toLocaleString('en-US');
      if (i > 0) td.className = 'num';
      tr.append(td);
    });
    return tr;
  }));
}

function render(view) {
  state.view = view;
  renderSources(view);
  $('source').textContent = view.source === 'prometheus' ? 'Prometheus' : 'the services\' /q/metrics';
  $('generated').textContent = new Date(view.generatedAt).toLocaleTimeString();
  const empty = view.baseRuns.length === 0 && view.transfers.length === 0 && view.learningCurves.length === 0;
  show('empty', empty);
  show('figures', !empty);
  document.body.dataset.state = empty ? 'empty' : 'runs';
  if (empty) return;
  renderPicker(view);
  renderProgress(view);
  const { transfer, base, baseId } = selection(view);
  $('lineage').textContent = transfer ? `base model ${baseId} → transfer ${transfer.run}` : baseId ? `base model ${baseId}` : '';
  renderBase(base);
  renderComparison(transfer);
  renderTimes(base, transfer);
  renderLearningCurve(view);
  renderCompare(view);
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
    document.querySelectorAll('.transfer-url').forEach(e => { e.textContent = s.transferUrl; });
  } catch (e) {
    // keep the defaults; refresh() reports the problem
  }
  $('run-picker').addEventListener('change', e => { state.selected = e.target.value; render(state.view); });
  $('curve-picker').addEventListener('change', e => { state.selectedCurve = e.target.value; render(state.view); });
  startCompare();
  refresh();
}

// for tests and for a person at the console: the live chart objects and the data behind them
window.featureRelay = { charts, state };
start();
