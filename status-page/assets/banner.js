// Vigil's embeddable banner: <script async src="https://status.example.com/embed/banner.js"></script>
// Reads banner.json from the script's own origin and shows it in a shadow root. It never throws, never logs, and
// renders nothing when Vigil is unreachable, slow or answers garbage: the host page must not suffer for it.
(function () {
  'use strict';
  var TIMEOUT_MS = 3000;
  var KEY = 'vigil-banner-dismissed';
  var script = document.currentScript;

  function origin() {
    try {
      return new URL(script && script.src ? script.src : '', location.href).origin;
    } catch {
      return null;
    }
  }

  function dismissed(id) {
    try {
      return localStorage.getItem(KEY) === id;
    } catch {
      return false;
    }
  }

  function remember(id) {
    try {
      localStorage.setItem(KEY, id);
    } catch {
      /* storage can be disabled; the banner then simply comes back on the next page */
    }
  }

  function valid(banner) {
    return (
      banner &&
      typeof banner === 'object' &&
      typeof banner.id === 'string' &&
      typeof banner.message === 'string' &&
      ['info', 'warning', 'maintenance', 'outage'].indexOf(banner.level) >= 0
    );
  }

  var CSS =
    ':host{all:initial}' +
    '.b{box-sizing:border-box;display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;padding:.6rem 1rem;' +
    'font:15px/1.4 system-ui,sans-serif;color:#1b1b1b;background:#fff4ce;border-top:3px solid #b58900}' +
    '.b.outage{background:#fde7e9;border-color:#b3261e}.b.maintenance,.b.info{background:#e8f1fb;border-color:#1f5fa8}' +
    '.fixed{position:fixed;left:0;right:0;bottom:0;z-index:2147483647;box-shadow:0 -2px 8px rgba(0,0,0,.15)}' +
    '.m{flex:1 1 20rem}a{color:inherit;font-weight:600}' +
    'button{font:inherit;cursor:pointer;background:transparent;border:1px solid currentColor;border-radius:4px;padding:.15rem .6rem}' +
    'button:focus-visible,a:focus-visible{outline:3px solid #1f5fa8;outline-offset:2px}';

  function render(banner) {
    var slot = document.querySelector('[data-vigil-banner]');
    var host = document.createElement('div');
    host.setAttribute('data-vigil-banner-host', '');
    var root = host.attachShadow({ mode: 'open' });
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];

    var box = document.createElement('div');
    box.className = 'b ' + banner.level + (slot ? '' : ' fixed');
    box.setAttribute('role', 'status');
    var message = document.createElement('span');
    message.className = 'm';
    message.textContent = banner.message;
    box.appendChild(message);
    var links = Array.isArray(banner.links) ? banner.links : [];
    for (var i = 0; i < links.length; i++) {
      var link = links[i];
      if (!link || typeof link.href !== 'string' || typeof link.text !== 'string' || !/^https?:/.test(link.href)) continue;
      var a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      box.appendChild(a);
    }
    var close = document.createElement('button');
    close.type = 'button';
    close.textContent = banner.dismissText || 'Dismiss';
    close.addEventListener('click', function () {
      remember(banner.id);
      host.remove();
    });
    box.appendChild(close);
    root.appendChild(box);
    (slot || document.body).appendChild(host);
  }

  function load() {
    var base = origin();
    if (!base || typeof fetch !== 'function' || typeof AbortController !== 'function') return;
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, TIMEOUT_MS);
    fetch(base + '/embed/banner.json', { credentials: 'omit', mode: 'cors', signal: controller.signal })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        clearTimeout(timer);
        var banner = body && body.banner;
        if (valid(banner) && !dismissed(banner.id)) render(banner);
      })
      .catch(function () {
        clearTimeout(timer);
      });
  }

  try {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', load);
    else load();
  } catch {
    /* nothing the banner does may break the host page */
  }
})();
