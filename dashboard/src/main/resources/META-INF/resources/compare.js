// Feature Relay dashboard, figure 6: several transfer runs (and their base models) on one epoch-aligned chart,
// with their settings side by side.
'use strict';

/** Settings rows first in this order (the run_info labels); any other label follows, by name. */
const SETTING_ORDER = ['base_run', 'target', 'dataset', 'classes', 'epochs', 'batch_size', 'head', 'optimizer',
  'learning_rate', 'train_per_class', 'fine_tune_epochs', 'fine_tune_learning_rate', 'seed'];

/** The runs compared: those picked, or (before any pick) the run picked at the top. */
function comparedRuns(view) {
  const runs = state.compare ?? (state.selected && state.selected.startsWith('transfer:')
    ? [state.selected.slice('transfer:'.length)] : []);
  return view.transfers.filter(t => runs.includes(t.run));
}

function renderCompareChoices(view) {
  const box = $('compare-runs');
  const runs = view.transfers.map(t => t.run);
  const picked = new Set(comparedRuns(view).map(t => t.run));
  if (box.dataset.values !== runs.join('|')) {
    box.replaceChildren(...view.transfers.map(t => {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.value = t.run;
      input.addEventListener('change', () => {
        state.compare = [...box.querySelectorAll('input:checked')].map(i => i.value);
        render(state.view);
      });
      label.append(input, ` ${t.run} ← ${t.baseRun || '?'}${t.fineTune ? ' (fine-tuned)' : ''}`);
      return label;
    }));
    box.dataset.values = runs.join('|');
  }
  box.querySelectorAll('input').forEach(i => { i.checked = picked.has(i.value); });
  $('compare-with-base').checked = state.compareWithBase;
}

function renderCompare(view) {
  renderCompareChoices(view);
  const runs = comparedRuns(view);
  const lines = [];
  runs.forEach((t, i) => {
    const color = RUN_PALETTE[i % RUN_PALETTE.length];
    lines.push([t.transfer, 'transfer', t.run, 0, color]);
    if (t.scratch) lines.push([t.scratch, 'scratch', t.run, 0, color]);
    if (t.fineTune) lines.push([t.fineTune, 'fine-tune', t.run, fineTuneOffset(t), color]);
  });
  if (state.compareWithBase) {
    // each base model once, however many of the runs it fed
    [...new Set(runs.map(t => t.baseRun))].forEach(id => {
      const base = view.baseRuns.find(b => b.run === id);
      if (base) lines.push([base, 'base', id, 0, COLORS.base]);
    });
  }
  const epochs = epochAxis(lines.map(([model, , , offset]) => [model, offset]));
  show('compare-empty', lines.length === 0);
  lineChart('compare-accuracy', lines.map(([model, role, run, offset, color]) => epochLine(model, role, run, epochs,
    offset, {
      label: `${run} ${ROLE_NAMES[role]}${offset ? ` (after epoch ${offset})` : ''}`,
      borderColor: color, backgroundColor: color, borderDash: DASHES[role]
    })), epochs);
  renderSettings(runs, view);
}

function finalAccuracy(model) {
  const done = model ? model.epochs.filter(e => e.validationAccuracy != null) : [];
  return done.length ? done[done.length - 1].validationAccuracy : null;
}

/** One column per run: its settings (run_info labels), then what it reached and how long it took. */
function renderSettings(runs, view) {
  const table = $('compare-settings');
  table.hidden = runs.length === 0;
  const keys = [...new Set(runs.flatMap(t => Object.keys(t.settings || {})))].sort((a, b) => {
    const [i, j] = [SETTING_ORDER.indexOf(a), SETTING_ORDER.indexOf(b)];
    return (i < 0 ? SETTING_ORDER.length : i) - (j < 0 ? SETTING_ORDER.length : j) || a.localeCompare(b);
  });
  const head = document.createElement('tr');
  head.append(cell('th', 'setting'), ...runs.map(t => { const th = cell('th', t.run); th.dataset.run = t.run; return th; }));
  table.tHead.replaceChildren(head);
  const results = [
    ['base final accuracy', t => fmt(finalAccuracy(view.baseRuns.find(b => b.run === t.baseRun)), 4)],
    ...['transfer', 'scratch', 'fine-tune'].flatMap(role => {
      const model = t => role === 'transfer' ? t.transfer : role === 'scratch' ? t.scratch : t.fineTune;
      return [[`${ROLE_NAMES[role]} final accuracy`, t => fmt(finalAccuracy(model(t)), 4)],
        [`${ROLE_NAMES[role]} training seconds`, t => fmt(model(t) && model(t).trainingSeconds, 1)]];
    })
  ];
  const rows = [...keys.map(k => [k, k.replaceAll('_', ' '), t => (t.settings || {})[k] ?? '-', 'setting']),
    ...results.map(([name, value]) => [name, name, value, 'result'])];
  table.tBodies[0].replaceChildren(...rows.map(([key, name, value, kind]) => {
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    tr.className = kind;
    tr.append(cell('th', name), ...runs.map(t => {
      const td = cell('td', value(t));
      td.dataset.run = t.run;
      return td;
    }));
    return tr;
  }));
}

function cell(tag, text) {
  const c = document.createElement(tag);
  c.textContent = text;
  return c;
}

function startCompare() {
  $('compare-with-base').addEventListener('change', e => { state.compareWithBase = e.target.checked; render(state.view); });
}
