// app.js: the dashboard shell: login, site choice, and a hash router over
// the views (#/live/demo, #/footfall/demo, ...).
import { api, el, sitePath, siteDoc, HTTPError, toast } from './api.js';
import * as live from './live.js';
import * as heatmap from './heatmap.js';
import * as footfall from './footfall.js';
import * as paths from './paths.js';
import * as sensors from './sensors.js';
import * as editor from './editor.js';
import * as chain from './chain.js';
import * as account from './account.js';

const views = { live, heatmap, footfall, paths, sensors, editor, chain, account };
// Views of no one site: the site picker is off there.
const SITELESS = new Set(['chain', 'account']);
// The views (and pages) for a role above the viewer's: a viewer cannot save
// a site or walk a calibration, so the menu does not offer them.
const NEEDS = { editor: 'installer', calibrate: 'installer' };
const RANK = { viewer: 0, installer: 1, admin: 2 };
const may = (what) => !NEEDS[what] || (RANK[state.me?.role] ?? 0) >= RANK[NEEDS[what]];
const main = document.getElementById('main');
const select = document.getElementById('site-select');
const state = { sites: [], me: null, cleanup: null, renders: 0 };
window.passant = state; // for tests and the curious

// The calibration walk is the calibration engineer's phone-sized page,
// /static/calibrate.html?site=...; its nav entry appears when it exists.
async function addCalibrate() {
  if (!may('calibrate')) return;
  try {
    const res = await fetch('/static/calibrate.html', { method: 'HEAD' });
    if (!res.ok) return;
    const a = el('a', { 'data-external': 'calibrate', href: '/static/calibrate.html' }, 'Calibrate');
    document.querySelector('#nav a[data-view="chain"]').before(a);
  } catch (_) {}
}

function route() {
  const [, view = '', site = ''] = location.hash.split('/');
  return { view: views[view] ? view : '', site: decodeURIComponent(site) };
}

function go(view, site) {
  location.hash = `#/${view}${site ? '/' + encodeURIComponent(site) : ''}`;
}

async function render() {
  // The calibration walk is a page of its own; #/calibrate/SITE, shaped
  // like the other views' addresses, opens it.
  const [, asked, askedSite = ''] = location.hash.split('/');
  if (asked === 'calibrate' && may('calibrate')) {
    const s = decodeURIComponent(askedSite) || localStorage.getItem('passant.site') || state.sites[0]?.site || '';
    return location.replace('/static/calibrate.html' + (s ? '?site=' + encodeURIComponent(s) : ''));
  }
  let { view, site } = route();
  if (!view) return go(state.sites.length === 1 ? 'live' : 'chain', state.sites.length === 1 ? state.sites[0].site : '');
  if (!SITELESS.has(view)) {
    if (!site || !state.sites.some(s => s.site === site)) {
      site = localStorage.getItem('passant.site');
      if (!state.sites.some(s => s.site === site)) site = state.sites[0]?.site;
      if (!site) { view = 'chain'; } else return go(view, site);
    }
    localStorage.setItem('passant.site', site);
  }
  const cal = document.querySelector('#nav a[data-external="calibrate"]');
  if (cal) cal.href = '/static/calibrate.html' + (site ? '?site=' + encodeURIComponent(site) : '');
  for (const a of document.querySelectorAll('#nav a[data-view]')) {
    a.classList.toggle('active', a.dataset.view === view);
    const s = SITELESS.has(view) ? localStorage.getItem('passant.site') || '' : site;
    a.href = a.dataset.view === 'chain' ? '#/chain' : `#/${a.dataset.view}/${encodeURIComponent(s)}`;
  }
  // On a phone the views scroll sideways: keep the current one in sight.
  document.querySelector('#nav a.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  select.value = site || localStorage.getItem('passant.site') || state.sites[0]?.site || '';
  select.disabled = SITELESS.has(view);
  const acc = document.getElementById('account-link');
  if (acc) { if (view === 'account') acc.setAttribute('aria-current', 'page'); else acc.removeAttribute('aria-current'); }
  // A view still mounting (its first numbers on their way) when the next
  // is asked for is stale: what it returns is cleaned up at once, and what
  // it throws is no news (it was the page before).
  const my = ++state.renders;
  if (state.cleanup) { try { state.cleanup(); } catch (e) { console.error(e); } state.cleanup = null; }
  main.replaceChildren();
  document.body.dataset.view = view;
  // The tab's title says what it shows (tabs, bookmarks, screen readers).
  const siteName = state.sites.find(s => s.site === site)?.name || site;
  const viewName = document.querySelector(`#nav a[data-view="${view}"]`)?.textContent || { editor: 'Site editor' }[view] || view;
  document.title = SITELESS.has(view) ? `${view === 'chain' ? 'Chain' : 'Account'} · Passant` : `${viewName} · ${siteName} · Passant`;
  if (!may(view)) { // an old link or a bookmark: say whom the view is for
    main.append(el('div', { class: 'card', id: 'needs-role' }, el('h2', {}, `${viewName} is for the ${NEEDS[view]} role`),
      el('p', {}, `You are logged in as ${state.me.name} with the ${state.me.role} role. An admin can give you the ${NEEDS[view]} role.`)));
    main.dataset.ready = view;
    return;
  }
  const ctx = {
    siteId: site, sites: state.sites, me: state.me,
    site: state.sites.find(s => s.site === site),
    go,
    reloadSites: loadSites,
    stale: () => my !== state.renders, // another view was asked for since
  };
  try {
    const cleanup = await views[view].mount(main, ctx) || null;
    if (ctx.stale()) {
      if (cleanup) try { cleanup(); } catch (e) { console.error(e); }
      return;
    }
    state.cleanup = cleanup;
    main.dataset.ready = view; // tests wait for this
  } catch (e) {
    if (ctx.stale()) return;
    console.error(e);
    main.replaceChildren(el('div', { class: 'card' }, el('h2', {}, 'Something went wrong'), el('p', {}, String(e.message || e))));
  }
}

async function loadSites() {
  state.sites = (await api('/api/sites')).map(siteDoc);
  select.replaceChildren(...state.sites.map(s => el('option', { value: s.site }, s.name ? `${s.name} (${s.site})` : s.site)));
  return state.sites;
}

function loginView() {
  const name = el('input', { type: 'text', placeholder: 'name', autocomplete: 'username', id: 'login-name' });
  const pw = el('input', { type: 'password', placeholder: 'password', autocomplete: 'current-password', id: 'login-password' });
  const form = el('form', { class: 'card login', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: name.value, password: pw.value }) });
      start();
    } catch (err) { toast(err.message, true); }
  } }, el('h2', {}, 'Log in to Passant'), name, pw, el('button', { class: 'primary', type: 'submit' }, 'Log in'),
  el('p', { class: 'hint' }, 'On its first start the server logs the first admin\'s name and password once.'));
  main.replaceChildren(form);
}

// Open alerts (sensors silent or with clocks out of line) as a badge.
async function pollAlerts() {
  const badge = document.getElementById('alerts');
  try {
    const as = await api('/api/alerts?open=1');
    state.alerts = as;
    badge.hidden = as.length === 0;
    badge.textContent = `⚠ ${as.length} alert${as.length === 1 ? '' : 's'}`;
    badge.title = as.map(a => `${a.site}: ${a.message || a.kind}`).join('\n');
    badge.href = as.length ? `#/sensors/${encodeURIComponent(as[0].site)}` : '#';
  } catch (_) {}
}

async function start() {
  try {
    state.me = await api('/api/me');
  } catch (e) {
    if (e instanceof HTTPError && e.status === 401) return loginView();
    throw e;
  }
  const u = document.getElementById('user');
  u.replaceChildren();
  if (state.me.auth) {
    // The user's name leads to their account: password, tokens, users.
    u.append(el('a', { id: 'account-link', href: '#/account', title: 'Your account: password, sessions and API tokens' + (state.me.role === 'admin' ? ', users' : '') },
      state.me.name), el('span', { class: 'role' }, ` (${state.me.role})`), el('span', { class: 'logout' }, ' · ', el('a', { href: '#', onclick: async (e) => {
      e.preventDefault(); await api('/api/logout', { method: 'POST' }); location.reload();
    } }, 'log out')));
  }
  if (!may('editor')) document.querySelector('#nav a[data-view="editor"]').remove();
  await Promise.all([loadSites(), addCalibrate()]);
  render();
  pollAlerts();
  setInterval(pollAlerts, 30000);
}

select.addEventListener('change', () => go(route().view || 'live', select.value));
window.addEventListener('hashchange', () => { if (state.me) render(); });
start().catch(e => { main.replaceChildren(el('p', { class: 'pad' }, 'Cannot reach the server: ' + e.message)); });
export { sitePath };
