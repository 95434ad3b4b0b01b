/*
 * Orchestrator page of the Felix Web Console. Polls data.json (same origin: the browser resends
 * the console's credentials) and redraws the tables; actions POST to ./action. Every value from
 * the server is written with textContent, never as HTML.
 */
(function () {
  'use strict';

  var root = document.getElementById('orchestrator-console');
  if (!root) {
    return;
  }
  // absolute and without user info: a page opened as http://user:pw@host/... would otherwise make
  // every relative fetch fail ("Request cannot be constructed from a URL that includes credentials")
  var base = window.location.origin + root.getAttribute('data-root');
  var pollMs = parseInt(root.getAttribute('data-poll-ms'), 10) || 3000;
  var ARM_MS = 5000;
  var status = document.getElementById('refresh-status');
  var result = document.getElementById('action-result');
  var autoRefresh = document.getElementById('auto-refresh');
  var exportForm = document.getElementById('export-form');
  var refreshCount = 0;
  var inFlight = false;
  var armed = {}; // instance id -> time the deprovision button was armed

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) {
      e.className = className;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  function cell(text, className) {
    return el('td', className, text === null || text === undefined ? '' : text);
  }

  function badge(prefix, value) {
    var v = value === null || value === undefined ? 'UNKNOWN' : String(value);
    return el('span', 'badge ' + prefix + '-' + v.replace(/[^A-Za-z0-9_-]/g, '_'), v);
  }

  function badgeCell(prefix, value) {
    var td = el('td');
    td.appendChild(badge(prefix, value));
    return td;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return '\u2013';
    }
    var s = Math.max(0, Math.floor(seconds));
    var d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    if (d > 0) {
      return d + 'd ' + h + 'h';
    }
    if (h > 0) {
      return h + 'h ' + m + 'm';
    }
    if (m > 0) {
      return m + 'm ' + (s % 60) + 's';
    }
    return s + 's';
  }

  function time(iso) {
    if (!iso) {
      return '\u2013';
    }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function button(className, label, data) {
    var b = el('button', className, label);
    b.type = 'button';
    Object.keys(data).forEach(function (k) {
      b.setAttribute('data-' + k, data[k]);
    });
    return b;
  }

  function fill(tableId, rows, emptyText, columns) {
    var tbody = document.querySelector('#' + tableId + ' tbody');
    var fresh = document.createDocumentFragment();
    if (!rows || rows.length === 0) {
      var tr = el('tr', 'empty');
      var td = cell(emptyText);
      td.colSpan = columns;
      tr.appendChild(td);
      fresh.appendChild(tr);
    } else {
      rows.forEach(function (row) {
        fresh.appendChild(row);
      });
    }
    tbody.replaceChildren(fresh);
  }

  function instanceRow(i) {
    var tr = el('tr');
    tr.setAttribute('data-instance-id', i.id);
    tr.setAttribute('data-state', i.state || 'UNKNOWN');
    tr.appendChild(cell(i.id, 'mono instance-id'));
    tr.appendChild(badgeCell('state', i.state));
    tr.appendChild(cell(i.client, 'mono'));
    tr.appendChild(cell(i.address, 'mono instance-address'));
    tr.appendChild(cell(i.provider + (i.providerRef ? ' (' + String(i.providerRef).substring(0, 12) + ')' : '')));
    tr.appendChild(cell(i.image, 'mono'));
    tr.appendChild(cell(duration(i.ageSeconds), 'instance-age'));
    tr.appendChild(cell(i.ttlSeconds === null ? 'no TTL' : duration(i.ttlSeconds), 'instance-ttl'));
    var actions = el('td', 'actions');
    var depro = button('deprovision', 'Deprovision', {'instance-id': i.id});
    var armedAt = armed[i.id];
    if (armedAt && Date.now() - armedAt < ARM_MS) {
      depro.classList.add('armed');
      depro.textContent = 'Confirm deprovision';
    }
    actions.appendChild(depro);
    actions.appendChild(document.createTextNode(' '));
    actions.appendChild(button('export', 'Export', {'instance-id': i.id}));
    tr.appendChild(actions);
    return tr;
  }

  function clientRow(c) {
    var tr = el('tr');
    tr.setAttribute('data-duid', c.duid);
    tr.setAttribute('data-state', c.state || 'UNKNOWN');
    tr.appendChild(cell(c.duid, 'mono'));
    tr.appendChild(badgeCell('state', c.state));
    tr.appendChild(cell(c.hostname));
    tr.appendChild(cell(c.address, 'mono'));
    var lease = el('td');
    lease.appendChild(badge('lease', c.leaseStatus));
    if (c.leaseExpiresAt) {
      lease.appendChild(document.createTextNode(' until ' + time(c.leaseExpiresAt)));
    }
    tr.appendChild(lease);
    tr.appendChild(cell(c.source));
    tr.appendChild(cell(c.instanceId, 'mono'));
    tr.appendChild(cell(c.reason));
    var actions = el('td', 'actions');
    if (!c.instanceId) {
      actions.appendChild(button('provision', 'Provision', {duid: c.duid}));
    }
    tr.appendChild(actions);
    return tr;
  }

  function leaseRow(l) {
    var tr = el('tr');
    tr.setAttribute('data-duid', l.duid);
    tr.setAttribute('data-address', l.address);
    [l.duid, l.iaid, l.address, l.mac, l.hostname, time(l.expiresAt), l.source, l.network].forEach(function (v, n) {
      tr.appendChild(cell(v, n === 0 || n === 2 || n === 3 ? 'mono' : ''));
    });
    return tr;
  }

  function componentRow(c) {
    var tr = el('tr');
    tr.setAttribute('data-component', c.kind + '/' + c.name);
    tr.setAttribute('data-available', String(c.available));
    tr.appendChild(cell(c.kind));
    tr.appendChild(cell(c.name, 'mono'));
    tr.appendChild(badgeCell('available', c.available));
    tr.appendChild(cell((c.bundleSymbolicName || '?') + ' [' + c.bundleId + ']', 'mono'));
    tr.appendChild(cell(c.bundleState));
    tr.appendChild(cell(c.detail));
    return tr;
  }

  function poolRow(p) {
    var tr = el('tr');
    tr.setAttribute('data-pool', p.poolKey);
    tr.appendChild(cell(p.provider, 'mono'));
    tr.appendChild(cell(p.network === null ? '\u2013' : p.network, 'mono'));
    tr.appendChild(cell(p.image, 'mono'));
    tr.appendChild(cell(p.poolKey, 'mono'));
    var full = el('td');
    full.appendChild(badge('pool', p.ready >= p.size ? 'FULL' : 'SHORT'));
    full.appendChild(document.createTextNode(' ' + p.ready + ' / ' + p.size));
    tr.appendChild(full);
    tr.appendChild(cell(p.starting));
    tr.appendChild(cell(p.min === p.max ? String(p.min) : p.min + '\u2013' + p.max));
    tr.appendChild(cell(p.claimed));
    return tr;
  }

  function eventRow(e) {
    var tr = el('tr');
    tr.setAttribute('data-seq', e.seq);
    [e.seq, time(e.at), e.kind, e.client, e.instanceId, e.message].forEach(function (v, n) {
      tr.appendChild(cell(v, n === 3 || n === 4 ? 'mono' : ''));
    });
    return tr;
  }

  function renderHealth(h) {
    var b = document.getElementById('health-badge');
    var detail = document.getElementById('health-detail');
    if (!h) {
      b.className = 'badge health-unknown';
      b.textContent = 'health: ?';
      detail.textContent = '';
      return;
    }
    b.className = 'badge ' + (h.up ? 'health-up' : 'health-down');
    b.textContent = h.up ? 'UP' : 'DOWN';
    b.setAttribute('data-up', String(h.up));
    var missing = [];
    if (!h.store || !h.store.up) {
      missing.push('store');
    }
    if (!h.sources) {
      missing.push('DHCP source');
    }
    if (!h.providers) {
      missing.push('provider');
    }
    if (!h.networks) {
      missing.push('network');
    }
    detail.textContent = missing.length ? 'missing: ' + missing.join(', ') : (h.store && h.store.detail ? 'store ' + h.store.detail : '');
  }

  function renderCounts(counts) {
    document.getElementById('count-clients').textContent = counts.clients === null ? '?' : counts.clients;
    document.getElementById('count-instances').textContent = counts.instances === null ? '?' : counts.instances;
    document.getElementById('count-leases').textContent = counts.leases === null ? '?' : counts.leases;
    var holder = document.getElementById('state-counts');
    var fresh = document.createDocumentFragment();
    Object.keys(counts.clientsByState || {}).forEach(function (state) {
      var n = counts.clientsByState[state];
      if (n > 0) {
        var b = badge('state', state);
        b.id = 'count-state-' + state;
        b.textContent = state + ' ' + n;
        fresh.appendChild(b);
        fresh.appendChild(document.createTextNode(' '));
      }
    });
    holder.replaceChildren(fresh);
  }

  function render(data) {
    renderHealth(data.health);
    renderCounts(data.counts || {});
    fill('instances', (data.instances || []).map(instanceRow), 'No instances.', 9);
    fill('clients', (data.clients || []).map(clientRow), 'No clients.', 9);
    fill('leases', (data.leases || []).map(leaseRow), 'No active leases.', 8);
    fill('pools', (data.pools || []).map(poolRow), 'No warm pool (poolSize = 0, or no provider that pools).', 8);
    fill('components', (data.components || []).map(componentRow), 'No DHCP sources, providers or networks registered.', 6);
    fill('events', (data.events || []).slice().reverse().map(eventRow), 'No events yet.', 6);
    var errors = Object.keys(data.errors || {});
    return errors.length ? errors.map(function (k) { return k + ': ' + data.errors[k]; }).join('; ') : null;
  }

  function setStatus(state, text) {
    status.setAttribute('data-state', state);
    status.textContent = text;
  }

  function refresh() {
    if (inFlight) {
      return Promise.resolve();
    }
    inFlight = true;
    return fetch(base + '/data.json', {credentials: 'same-origin', cache: 'no-store', headers: {'Accept': 'application/json'}})
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) {
            throw new Error(body && body.error ? body.error : 'HTTP ' + response.status);
          }
          return body;
        });
      })
      .then(function (body) {
        var partial = render(body);
        refreshCount += 1;
        status.setAttribute('data-refresh-count', String(refreshCount));
        if (partial) {
          setStatus('error', 'Updated ' + new Date().toLocaleTimeString() + ' with errors: ' + partial);
        } else {
          setStatus('ok', 'Updated ' + new Date().toLocaleTimeString());
        }
      })
      .catch(function (e) {
        setStatus('error', 'Refresh failed: ' + e.message);
      })
      .then(function () {
        inFlight = false;
      });
  }

  function showResult(kind, text) {
    result.hidden = false;
    result.className = kind;
    result.setAttribute('data-state', kind);
    result.textContent = text;
  }

  function act(payload, pendingText) {
    showResult('pending', pendingText);
    return fetch(base + '/action', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-Requested-By': 'orchestrator-console', 'Accept': 'application/json'},
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          throw new Error(body && body.error ? body.error : 'HTTP ' + response.status);
        }
        showResult('ok', body.message || 'Done.');
      });
    }).catch(function (e) {
      showResult('error', 'Failed: ' + e.message);
    }).then(refresh);
  }

  root.addEventListener('click', function (event) {
    var target = event.target;
    if (!(target instanceof HTMLButtonElement)) {
      return;
    }
    var id = target.getAttribute('data-instance-id');
    if (target.classList.contains('deprovision')) {
      // two clicks within ARM_MS: a stray click must not destroy an instance
      if (armed[id] && Date.now() - armed[id] < ARM_MS) {
        delete armed[id];
        act({action: 'deprovision', instanceId: id}, 'Deprovisioning ' + id + '\u2026');
      } else {
        armed[id] = Date.now();
        target.classList.add('armed');
        target.textContent = 'Confirm deprovision';
      }
    } else if (target.classList.contains('export')) {
      document.getElementById('export-instance').value = id;
      document.getElementById('export-instance-label').textContent = id;
      exportForm.hidden = false;
      document.getElementById('export-image').focus();
    } else if (target.classList.contains('provision')) {
      var duid = target.getAttribute('data-duid');
      act({action: 'provision', duid: duid}, 'Provisioning ' + duid + '\u2026');
    } else if (target.id === 'reconcile') {
      act({action: 'reconcile'}, 'Reconciling\u2026');
    } else if (target.id === 'refresh-now') {
      refresh();
    } else if (target.id === 'export-cancel') {
      exportForm.hidden = true;
    }
  });

  exportForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var id = document.getElementById('export-instance').value;
    var archive = document.getElementById('export-archive').value.trim();
    var payload = {action: 'export', instanceId: id, image: document.getElementById('export-image').value.trim()};
    if (archive) {
      payload.archive = archive;
    }
    exportForm.hidden = true;
    act(payload, 'Exporting ' + id + '\u2026');
  });

  setInterval(function () {
    if (autoRefresh.checked && !document.hidden) {
      refresh();
    }
  }, pollMs);
  refresh();
}());
