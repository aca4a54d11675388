// @ts-check
/*
 * The operator console's script: it listens to /console/api/events (one
 * sample every couple of seconds, pushed), draws the charts with uPlot, and
 * calls the JSON API for the task list, a task's detail and the actions.
 * Type-checked with the DOM's types (tsconfig.json beside it) and linted.
 */
'use strict';
(function () {
  /**
   * @type {{
   *   models: any[], history: any[], charts: Record<string, { plot: any, key: string }>,
   *   filter: Record<string, string>, openTask: string | null, deadCounts: string
   * }}
   */
  var state = { models: [], history: [], charts: {}, filter: { status: '', model: '' }, openTask: null, deadCounts: '' };

  /** The element the page always has; a missing one is a bug in index.html. */
  function byId(id) {
    var node = document.getElementById(id);
    if (!node) throw new Error('the page has no #' + id);
    return node;
  }
  /** @returns {HTMLElement} */
  function byTestId(testid) {
    var node = document.querySelector('[data-testid="' + testid + '"]');
    if (!(node instanceof HTMLElement)) throw new Error('the page has no ' + testid);
    return node;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'onclick') node.addEventListener('click', attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function num(v, digits) { return v === undefined || v === null ? '–' : Number(v).toFixed(digits || 0); }
  function pair(a, b) { return num(a, 1) + ' / ' + num(b, 1); }
  function age(seconds) {
    if (seconds === undefined || seconds === null) return '–';
    if (seconds < 90) return seconds.toFixed(0) + ' s';
    if (seconds < 5400) return (seconds / 60).toFixed(0) + ' min';
    return (seconds / 3600).toFixed(1) + ' h';
  }
  function cell(text, cls, testid) {
    var attrs = { text: String(text) };
    if (cls) attrs.class = cls;
    if (testid) attrs['data-testid'] = testid;
    return el('td', attrs);
  }
  function fill(testid, rows) {
    // The table's: a model's row has cells of the same test ids (workers, done).
    var body = document.querySelector('table[data-testid="' + testid + '"] > tbody');
    if (!body) throw new Error('the page has no table ' + testid);
    body.replaceChildren.apply(body, rows);
  }
  function api(path, options) {
    return fetch(path, Object.assign({ headers: { accept: 'application/json' } }, options)).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.detail || body.title || ('HTTP ' + response.status));
        return body;
      });
    });
  }

  /** Hits of lookups, and the rate: "75% (3 of 4)"; a dash without a cache. */
  function cacheHits(cache) {
    if (!cache) return '–';
    var looked = cache.hits + cache.misses;
    return looked === 0 ? '0' : Math.round((cache.hits / looked) * 100) + '% (' + cache.hits + ' of ' + looked + ')';
  }
  function cacheSize(cache) {
    if (!cache) return '–';
    var size = cache.bytes < 1048576 ? (cache.bytes / 1024).toFixed(1) + ' kB' : (cache.bytes / 1048576).toFixed(1) + ' MB';
    return size + ' (' + cache.evictions + ')';
  }

  function renderModels(models) {
    fill('models', models.map(function (m) {
      var q = m.queue || {};
      return el('tr', { 'data-model': m.id }, [
        cell(m.id), cell(m.kind, '', 'kind'), cell(num(q.ready), 'num', 'ready'), cell(num(m.inFlight), 'num', 'in-flight'), cell(num(q.consumers), 'num', 'consumers'),
        cell(num(q.deadLettered), 'num', 'dead-lettered'), cell(num(m.workers), 'num', 'workers'), cell(num(m.done), 'num', 'done'),
        cell(num(m.failed), 'num', 'failed'), cell(num(m.submittedPerSecond, 1), 'num'), cell(num(m.donePerSecond, 1), 'num'),
        cell(num(m.failedPerSecond, 1), 'num'), cell(pair(m.waitP50Ms, m.waitP95Ms), 'num'), cell(pair(m.inferenceP50Ms, m.inferenceP95Ms), 'num'),
        cell(num(m.meanBatchSize, 1), 'num'), cell(age(m.oldestWaitingSeconds), 'num'),
        cell(cacheHits(m.cache), 'num', 'cache-hits'), cell(cacheSize(m.cache), 'num', 'cache-size'),
      ]);
    }));
    var select = /** @type {HTMLSelectElement} */ (byTestId('filter-model'));
    if (select.options.length !== models.length + 1) {
      select.replaceChildren(el('option', { value: '', text: 'any' }));
      models.forEach(function (m) { select.appendChild(el('option', { value: m.id, text: m.id })); });
      select.value = state.filter.model;
    }
  }

  function renderWorkers(workers) {
    fill('workers', workers.map(function (w) {
      var total = function (pick) {
        return Object.keys(w.activity || {}).reduce(function (sum, model) { return sum + pick(w.activity[model]); }, 0);
      };
      return el('tr', { 'data-worker': w.workerId }, [
        cell(w.workerId), cell(w.host), cell(w.pid === undefined ? '–' : w.pid, 'num'), cell((w.models || []).join(', ')),
        cell(age(w.beatAgeSeconds), 'num'), cell(total(function (a) { return a.done; }), 'num', 'worker-done'),
        cell(total(function (a) { return a.failed; }), 'num'), cell(total(function (a) { return a.inFlight; }), 'num'),
        cell(w.rssBytes ? (w.rssBytes / 1048576).toFixed(0) + ' MB' : '–', 'num'), cell(age(w.uptimeSeconds), 'num'),
      ]);
    }));
  }

  function chart(id, title, pick) {
    var models = state.models.map(function (m) { return m.id; });
    var points = state.history;
    var data = [points.map(function (p) { return p.at / 1000; })].concat(models.map(function (model) {
      return points.map(function (p) { var v = p.models[model] && pick(p.models[model]); return v === undefined ? null : v; });
    }));
    var colours = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];
    var target = byId(id);
    var key = id + ':' + models.join(',');
    if (typeof uPlot === 'undefined') return;
    if (!state.charts[id] || state.charts[id].key !== key) {
      if (state.charts[id]) state.charts[id].plot.destroy();
      var plot = new uPlot({
        width: Math.max(300, target.clientWidth - 10), height: 180,
        series: [{}].concat(models.map(function (model, i) { return { label: model, stroke: colours[i % colours.length], width: 1.5 }; })),
        axes: [{}, { size: 50 }], scales: { x: { time: true } }, legend: { show: true }, title: title,
      }, data, target);
      state.charts[id] = { plot: plot, key: key };
    } else {
      state.charts[id].plot.setData(data);
    }
  }

  function renderTasks(tasks) {
    fill('tasks', tasks.map(function (t) {
      var cancel = t.status === 'queued' || t.status === 'running'
        ? el('button', { 'data-testid': 'cancel', onclick: function (e) { e.stopPropagation(); cancelTask(t.id); }, text: 'Cancel' })
        : el('span');
      var row = el('tr', { 'class': 'clickable', 'data-task': t.id, onclick: function () { showTask(t.id); } }, [
        cell(t.id.slice(0, 8)), cell(t.model), cell(t.status, 'status-' + t.status, 'status'), cell(t.input_count, 'num'),
        cell(t.attempts, 'num'), cell(t.owner || '–'), cell(new Date(t.created_at).toLocaleTimeString()), cell(t.error || ''), el('td', {}, [cancel]),
      ]);
      return row;
    }));
  }

  function refreshTasks() {
    var query = new URLSearchParams({ limit: '50' });
    if (state.filter.status) query.set('status', state.filter.status);
    if (state.filter.model) query.set('model', state.filter.model);
    return api('/console/api/tasks?' + query).then(function (body) { renderTasks(body.tasks); }).catch(function () {});
  }

  function renderBatches(batches) {
    fill('batches', batches.map(function (b) {
      var answered = b.completed + b.failed;
      return el('tr', { 'data-batch': b.id }, [
        cell(b.id), cell(b.endpoint, '', 'batch-endpoint'), cell(b.owner || '–'), cell(b.status, 'status-' + b.status, 'batch-status'),
        el('td', {}, [el('progress', { max: String(Math.max(1, b.total)), value: String(answered) }), ' ' + answered + ' / ' + b.total]),
        cell(b.completed, 'num', 'batch-done'), cell(b.failed, 'num', 'batch-failed'), cell(b.total, 'num'),
        cell(new Date(b.created_at).toLocaleTimeString()),
      ]);
    }));
  }

  function refreshBatches() {
    return api('/console/api/batches').then(function (body) { renderBatches(body.batches); }).catch(function () {});
  }

  function showTask(id) {
    state.openTask = id;
    return api('/console/api/tasks/' + encodeURIComponent(id)).then(function (t) {
      var box = byId('task-detail');
      var fields = [['Task', t.id], ['Model', t.model], ['Status', t.status], ['Owner', t.owner || '–'], ['Inputs', t.input_count],
        ['Priority', t.priority], ['Attempts', t.attempts], ['Created', t.created_at], ['Started', t.started_at || '–'],
        ['Finished', t.finished_at || '–'], ['Error', t.error || '–'], ['Request id', t.request_id || '–']];
      var dl = el('dl');
      fields.forEach(function (f) { dl.appendChild(el('dt', { text: f[0] })); dl.appendChild(el('dd', { text: String(f[1]) })); });
      box.replaceChildren(dl);
      if (t.status === 'queued' || t.status === 'running') {
        box.appendChild(el('button', { 'data-testid': 'detail-cancel', onclick: function () { cancelTask(t.id); }, text: 'Cancel this task' }));
      }
      box.hidden = false;
    }).catch(function (error) { byId('task-detail').replaceChildren(el('p', { 'class': 'error', text: error.message })); });
  }

  function cancelTask(id) {
    if (!window.confirm('Cancel task ' + id + '? A worker will not run it, or its result will be dropped.')) return;
    api('/console/api/tasks/' + encodeURIComponent(id) + '/cancel', { method: 'POST' })
      .then(function () { return Promise.all([refreshTasks(), state.openTask === id ? showTask(id) : null]); })
      .catch(function (error) { window.alert(error.message); });
  }

  /** Reads the dead letters again only when a model's count of them changed: listing them walks the broker's queue. */
  function refreshDeadLettersIfChanged() {
    var counts = state.models.map(function (m) { return m.id + ':' + (m.queue ? m.queue.deadLettered : '?'); }).join(',');
    if (counts === state.deadCounts) return Promise.resolve();
    state.deadCounts = counts;
    return refreshDeadLetters();
  }

  function refreshDeadLetters() {
    var box = byId('dead-letters');
    var models = state.models.filter(function (m) { return m.queue && m.queue.deadLettered > 0; });
    if (models.length === 0) { box.replaceChildren(el('p', { 'class': 'hint', text: 'None.' })); return Promise.resolve(); }
    return Promise.all(models.map(function (m) {
      return api('/console/api/dead-letters/' + encodeURIComponent(m.id)).then(function (body) {
        var rows = body.dead_letters.map(function (d) {
          var actions = d.task_id ? [
            el('button', { 'data-testid': 'requeue', onclick: function () { resolveDead(m.id, d.task_id, 'requeue'); }, text: 'Requeue' }), ' ',
            el('button', { 'data-testid': 'discard', onclick: function () { resolveDead(m.id, d.task_id, 'discard'); }, text: 'Discard' }),
          ] : [];
          return el('tr', { 'data-dead-letter': d.task_id || '' }, [cell(d.task_id ? d.task_id.slice(0, 8) : '(malformed)'), cell(d.reason),
            cell(d.input_count === null ? '–' : d.input_count, 'num'), cell(d.enqueued_at || '–'), el('td', {}, actions)]);
        });
        return el('div', { 'data-model': m.id }, [el('h3', { text: m.id + ' (' + m.queue.deadLettered + ')' }),
          el('table', {}, [el('thead', {}, [el('tr', {}, [el('th', { text: 'Task' }), el('th', { text: 'Reason' }), el('th', { text: 'Inputs' }),
            el('th', { text: 'Enqueued' }), el('th')])]), el('tbody', {}, rows)])]);
      });
    })).then(function (sections) { box.replaceChildren.apply(box, sections); }).catch(function () {});
  }

  function resolveDead(model, taskId, action) {
    var what = action === 'requeue' ? 'Send the message of task ' + taskId + " back to model '" + model + "'s queue?" : 'Drop the message of task ' + taskId + ' for good?';
    if (!window.confirm(what)) return;
    api('/console/api/dead-letters/' + encodeURIComponent(model) + '/' + encodeURIComponent(taskId) + '/' + action, { method: 'POST' })
      .then(function () { return api('/console/api/overview'); })
      .then(function (body) { apply(body.snapshot); state.deadCounts = ''; return refreshDeadLettersIfChanged(); })
      .catch(function (error) { window.alert(error.message); });
  }

  function apply(snapshot) {
    state.models = snapshot.models;
    renderModels(snapshot.models);
    renderWorkers(snapshot.workers);
    byId('updated').textContent = 'updated ' + new Date(snapshot.at).toLocaleTimeString();
    byId('updated').setAttribute('data-at', snapshot.at);
  }

  function redraw() {
    chart('chart-throughput', '', function (m) { return m.donePerSecond; });
    chart('chart-depth', '', function (m) { return m.ready; });
  }

  byId('task-filter').addEventListener('change', function (event) {
    var field = /** @type {HTMLSelectElement} */ (event.target);
    state.filter[field.name] = field.value;
    refreshTasks();
  });

  var events = new EventSource('/console/api/events');
  events.addEventListener('overview', function (/** @type {MessageEvent} */ event) {
    var body = JSON.parse(event.data);
    state.history = body.history;
    apply(body.snapshot);
    redraw();
    refreshTasks();
    refreshBatches();
    refreshDeadLettersIfChanged();
  });
  events.addEventListener('sample', function (/** @type {MessageEvent} */ event) {
    var body = JSON.parse(event.data);
    state.history.push(body.point);
    var cutoff = body.point.at - 15 * 60 * 1000;
    while (state.history.length && state.history[0].at < cutoff) state.history.shift();
    apply(body.snapshot);
    redraw();
    refreshTasks();
    refreshBatches();
    refreshDeadLettersIfChanged();
  });
  events.addEventListener('error', function () {
    byId('updated').textContent = 'reconnecting…';
  });
})();
