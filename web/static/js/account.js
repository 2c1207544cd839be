// account.js: the logged-in user's account (#/account): their name and
// role, a new password, logging out; their sessions and API tokens (revoke,
// make one: its secret is shown once); for an admin, the users (add, delete,
// change a role, reset a password).
// Names come from the server and are text: el() children, never markup.
import { api, el, fmt, postJSON, siteTime, browserZone, toast } from './api.js';

const when = (ms) => ms ? siteTime(ms, browserZone, { date: true, seconds: false }) : '–';
const ROLES = { viewer: 'sees the dashboards, reports and live map', installer: 'also edits sites and floor plans, and walks calibrations',
  admin: 'also imports till receipts, re-processes, and manages the users' };
const an = (role) => (role === 'viewer' ? 'a ' : 'an ') + role;

// confirmDialog asks in a modal dialog (Esc or Cancel: no) and resolves
// true when the user confirms; the focus starts on Cancel and goes back to
// where it was.
export function confirmDialog(title, text, yes) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const no = el('button', { type: 'button', id: 'confirm-no' }, 'Cancel');
    const ok = el('button', { type: 'button', class: 'danger', id: 'confirm-yes' }, yes);
    const d = el('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      el('h2', { id: 'confirm-title' }, title), el('p', { id: 'confirm-text' }, text), el('div', { class: 'buttons' }, no, ok));
    let answer = false;
    no.addEventListener('click', () => d.close());
    ok.addEventListener('click', () => { answer = true; d.close(); });
    d.addEventListener('close', () => { d.remove(); if (back && back.isConnected) back.focus(); resolve(answer); });
    document.body.append(d);
    d.showModal();
    no.focus();
  });
}

// cell is a table cell with a label for the phone's stacked rows
// (table.stack in app.css): its content in one span, so that it stays
// together on the label's right.
const cell = (label, ...children) => el('td', { 'data-label': label }, el('span', {}, ...children));

// keepFocus puts the focus on a list whose row that had it (a revoke or
// delete button) is gone, so that a keyboard user goes on from there.
function keepFocus(list) {
  if (document.activeElement && document.activeElement !== document.body) return;
  list.tabIndex = -1;
  list.focus();
}

// field is a labelled input.
function field(label, attrs) {
  const input = el('input', attrs);
  return [el('label', {}, label, input), input];
}

// say shows a form's outcome under it: an error (read out at once) or a
// success.
function say(p, msg, ok = false) {
  p.className = ok ? 'form-ok' : 'form-error';
  p.setAttribute('role', ok ? 'status' : 'alert');
  p.textContent = msg;
  p.hidden = !msg;
}

export async function mount(main, ctx) {
  const me = ctx.me || {};
  if (!me.auth) {
    main.append(el('div', { class: 'card', id: 'acc-demo' }, el('h2', {}, 'Account'),
      el('p', {}, 'This server has no logins (', el('code', {}, 'passant demo'), '): everyone may do everything, and there are no passwords, sessions or tokens to manage. ',
        el('code', {}, 'passant serve'), ' asks for a login; its first start logs the first admin\'s password.')));
    main.dataset.account = 'demo';
    return null;
  }
  const out = el('p', { id: 'acc-pw-out', hidden: true });
  const [curL, cur] = field('Current password', { type: 'password', id: 'acc-pw-current', autocomplete: 'current-password', required: true });
  const [newL, nw] = field('New password (at least 10 characters)', { type: 'password', id: 'acc-pw-new', autocomplete: 'new-password', required: true });
  const [repL, rep] = field('New password again', { type: 'password', id: 'acc-pw-repeat', autocomplete: 'new-password', required: true });
  const pwForm = el('form', { class: 'toolbar', id: 'acc-pw', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (nw.value.length < 10) return say(out, 'The new password needs at least 10 characters.');
    if (nw.value !== rep.value) return say(out, 'The two new passwords differ: type the same one twice.');
    try {
      const r = await postJSON('/api/password', { password: cur.value, new: nw.value });
      pwForm.reset();
      const n = r.sessions_ended || 0;
      say(out, `Password changed. ${n ? `Your ${n === 1 ? 'other session has' : `${n} other sessions have`} ended` : 'You had no other sessions'}; this one goes on. API tokens stay: revoke below any you no longer trust.`, true);
      loadTokens();
    } catch (err) {
      say(out, err.status === 403 ? 'The current password is wrong.' : err.message);
      (err.status === 403 ? cur : nw).focus();
    }
  } }, curL, newL, repL, el('button', { class: 'primary', type: 'submit' }, 'Change password'));
  const logout = el('button', { type: 'button', id: 'acc-logout', onclick: async () => {
    try { await api('/api/logout', { method: 'POST' }); } finally { location.reload(); }
  } }, 'Log out');
  main.append(el('div', { class: 'card', id: 'acc-me' },
    el('h2', {}, 'Your account'),
    el('div', { class: 'acc-who' }, el('p', {}, 'Logged in as ', el('strong', { id: 'acc-name' }, me.name), ' with the ',
      el('strong', { id: 'acc-role' }, me.role), ' role', ROLES[me.role] ? el('span', { class: 'muted' }, ` (${ROLES[me.role]})`) : '', '.'), logout),
    el('h3', {}, 'Change your password'), pwForm, out));

  // Sessions and API tokens.
  const tokens = el('div', { class: 'scroll', id: 'acc-tokens' }, el('p', { class: 'muted' }, 'Loading…'));
  const tokOut = el('p', { id: 'acc-tok-out', hidden: true });
  const secret = el('div', { id: 'acc-secret', hidden: true });
  const [tnL, tname] = field('Name (what uses it)', { type: 'text', id: 'acc-tok-name', maxlength: 64, placeholder: 'nightly export', autocomplete: 'off' });
  const [tdL, tdays] = field('Expires after (days)', { type: 'number', id: 'acc-tok-days', min: 1, max: 3650, value: 90, style: 'width:7em' });
  const never = el('input', { type: 'checkbox', id: 'acc-tok-never', onchange: () => { tdays.disabled = never.checked; } });
  const tokForm = el('form', { class: 'toolbar', id: 'acc-tok', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const days = never.checked ? 0 : Number(tdays.value);
    if (!tname.value.trim()) { tname.focus(); return say(tokOut, 'Give the token a name: what will use it?'); }
    if (!never.checked && !(Number.isInteger(days) && days >= 1 && days <= 3650)) { tdays.focus(); return say(tokOut, 'Days: a whole number from 1 to 3650, or tick "never".'); }
    try {
      const t = await postJSON('/api/tokens', { name: tname.value.trim(), days });
      say(tokOut, '');
      tokForm.reset(); tdays.disabled = false;
      showSecret(t);
      loadTokens();
    } catch (err) { say(tokOut, err.message); }
  } }, tnL, tdL, el('label', { class: 'check' }, never, 'never expires'), el('button', { class: 'primary', type: 'submit' }, 'Make an API token'));
  main.append(el('div', { class: 'card', id: 'acc-sessions' },
    el('h2', {}, 'Your sessions and API tokens'),
    el('p', { class: 'hint' }, 'A session is a browser where you logged in; an API token lets a script act as you (',
      el('code', {}, 'Authorization: Bearer …'), '). Revoke any you do not recognise.'),
    tokens, el('h3', {}, 'Make an API token'), tokForm, tokOut, secret));

  // showSecret shows a new token's secret, once, with a copy button.
  function showSecret(t) {
    const box = el('input', { type: 'text', readonly: true, id: 'acc-secret-value', value: t.token, 'aria-label': 'The new API token', spellcheck: 'false' });
    const copy = el('button', { type: 'button', id: 'acc-secret-copy', onclick: async () => {
      box.select();
      let ok = false;
      try { await navigator.clipboard.writeText(t.token); ok = true; } catch (_) { ok = document.execCommand && document.execCommand('copy'); }
      toast(ok ? 'Copied the token' : 'Copy it by hand: it is selected', !ok);
    } }, 'Copy');
    secret.replaceChildren(
      el('p', { class: 'warn-text' }, el('strong', {}, 'Copy this token now: it will not be shown again. '),
        `Passant keeps only a hash of it. Whoever has it can act as you${t.expires ? ' until ' + when(t.expires) : ', with no end date'}; revoke it above if it leaks.`),
      el('div', { class: 'secret-row' }, box, copy),
      el('p', { class: 'hint' }, 'Use it as the header ', el('code', {}, 'Authorization: Bearer <token>'), '.'),
      el('button', { type: 'button', onclick: () => { secret.hidden = true; secret.replaceChildren(); } }, 'Done, I have copied it'));
    secret.hidden = false;
    box.focus(); box.select();
  }

  async function loadTokens() {
    let ts;
    try { ts = await api('/api/tokens'); } catch (err) {
      tokens.replaceChildren(el('p', { class: 'form-error', role: 'alert' }, 'Cannot list your sessions and tokens: ' + err.message + ' '),
        el('button', { type: 'button', onclick: loadTokens }, 'Try again'));
      return;
    }
    ts.sort((a, b) => (!!b.current - !!a.current) || (b.created - a.created));
    if (!ts.length) { tokens.replaceChildren(el('p', { class: 'muted' }, 'No sessions or API tokens.')); return; }
    tokens.replaceChildren(el('table', { id: 'acc-token-table', class: 'stack' },
      el('tr', {}, ...['Kind', 'Name', 'Created', 'Expires', 'Last used', ''].map(h => el('th', {}, h))),
      ...ts.map(t => {
        const what = t.kind === 'api' ? `API token ${t.name}` : t.current ? 'this session' : 'session';
        return el('tr', { 'data-token': t.kind, 'data-current': t.current ? '1' : undefined },
          cell('Kind', t.kind === 'api' ? 'API token' : 'Session', t.current ? [' ', el('span', { class: 'pill on' }, 'this session')] : ''),
          cell('Name', t.name || el('span', { class: 'muted' }, 'browser login')),
          cell('Created', when(t.created)), cell('Expires', t.expires ? when(t.expires) : 'never'),
          cell('Last used', fmt.ago(t.last_used, browserZone)),
          el('td', {}, el('button', { type: 'button', class: 'x', 'aria-label': `Revoke ${what}`, onclick: () => revoke(t) }, t.current ? 'Log out here' : 'Revoke')));
      })));
    main.dataset.tokens = String(ts.length);
  }

  async function revoke(t) {
    const text = t.current ? 'This is the session you are using: you will be logged out.'
      : t.kind === 'api' ? `Whatever uses the API token "${t.name}" will be refused from now on.` : 'That browser will have to log in again.';
    if (!await confirmDialog(t.kind === 'api' ? `Revoke the API token "${t.name}"?` : 'End this session?', text, t.current ? 'Log out' : 'Revoke')) return;
    try {
      await api('/api/tokens/' + encodeURIComponent(t.id), { method: 'DELETE' });
      if (t.current) return location.reload();
      toast(t.kind === 'api' ? `Revoked "${t.name}"` : 'Session ended');
    } catch (err) { toast(err.message, true); }
    await loadTokens();
    keepFocus(tokens);
  }

  await loadTokens();
  if (me.role === 'admin') await usersCard(main, me);
  main.dataset.account = 'ready';
  return null;
}

// usersCard: an admin's list of users: their roles (changed after a
// confirmation), resetting a password, adding and deleting users.
async function usersCard(main, me) {
  const list = el('div', { class: 'scroll', id: 'acc-users' }, el('p', { class: 'muted' }, 'Loading…'));
  const out = el('p', { id: 'acc-user-out', hidden: true });
  const [nL, name] = field('Name', { type: 'text', id: 'acc-user-name', maxlength: 64, autocomplete: 'off' });
  const role = el('select', { id: 'acc-user-role' }, ...Object.keys(ROLES).map(r => el('option', { value: r }, r)));
  const [pL, pw] = field('Initial password (at least 10 characters)', { type: 'password', id: 'acc-user-password', autocomplete: 'new-password' });
  const form = el('form', { class: 'toolbar', id: 'acc-user-add', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { name.focus(); return say(out, 'Give the user a name.'); }
    if (pw.value.length < 10) { pw.focus(); return say(out, 'The initial password needs at least 10 characters.'); }
    try {
      const u = await postJSON('/api/users', { name: name.value.trim(), role: role.value, password: pw.value });
      form.reset();
      say(out, `Added ${u.name} (${u.role}). Give them the password by a safe way; they change it on their Account page.`, true);
      load();
    } catch (err) { say(out, err.message); }
  } }, nL, el('label', {}, 'Role', role), pL, el('button', { class: 'primary', type: 'submit' }, 'Add the user'));
  main.append(el('div', { class: 'card', id: 'acc-admin' }, el('h2', {}, 'Users'),
    el('p', { class: 'hint' }, 'A ', ...Object.entries(ROLES).flatMap(([r, d], i) => [i ? '; an ' : '', el('strong', {}, r), ` ${d}`]), '.'),
    list, el('h3', {}, 'Add a user'), form, out));

  const usersOut = el('p', { id: 'acc-users-out', hidden: true });
  list.after(usersOut);

  async function load() {
    let us;
    try { us = await api('/api/users'); } catch (err) {
      list.replaceChildren(el('p', { class: 'form-error', role: 'alert' }, 'Cannot list the users: ' + err.message + ' '),
        el('button', { type: 'button', onclick: load }, 'Try again'));
      return;
    }
    us.sort((a, b) => a.name.localeCompare(b.name));
    list.replaceChildren(el('table', { id: 'acc-user-table', class: 'stack' },
      el('tr', {}, ...['Name', 'Role', 'Added', ''].map(h => el('th', {}, h))),
      ...us.map(u => el('tr', { 'data-user': u.name },
        cell('Name', u.name),
        cell('Role', u.name === me.name ? u.role : roleSelect(u)),
        cell('Added', when(u.created)),
        el('td', {}, u.name === me.name ? el('span', { class: 'muted' }, 'you') : [
          el('button', { type: 'button', class: 'x user-reset', 'aria-label': `Reset the password of ${u.name}`, onclick: () => resetPassword(u) }, 'Reset password'),
          el('button', { type: 'button', class: 'x user-delete', 'aria-label': `Delete the user ${u.name}`, onclick: () => del(u) }, 'Delete')])))));
    main.dataset.users = String(us.length);
  }

  // focusRow puts the focus back on what of user name's row had it (the
  // list is drawn anew), or on the list.
  function focusRow(name, selector) {
    const row = [...list.querySelectorAll('tr[data-user]')].find(r => r.dataset.user === name);
    const e = row && row.querySelector(selector);
    if (e) e.focus(); else keepFocus(list);
  }

  // roleSelect changes a user's role, after a confirmation; Cancel puts
  // the old one back.
  function roleSelect(u) {
    const sel = el('select', { class: 'user-role', 'aria-label': `Role of ${u.name}` },
      ...Object.keys(ROLES).map(r => el('option', { value: r, selected: r === u.role }, r)));
    sel.addEventListener('change', async () => {
      const to = sel.value;
      const ok = await confirmDialog(`Make ${u.name} ${an(to)}?`,
        `${u.name} is ${an(u.role)}. As ${an(to)}, ${u.name} ${ROLES[to]}, from their next click on.`, 'Change the role');
      if (!ok) { sel.value = u.role; sel.focus(); return; }
      try {
        await api('/api/users/' + encodeURIComponent(u.name), { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ role: to }) });
        say(usersOut, `${u.name} is now ${an(to)}.`, true);
      } catch (err) { say(usersOut, `Cannot change the role of ${u.name}: ${err.message}`); }
      await load();
      focusRow(u.name, 'select.user-role');
    });
    return sel;
  }

  // resetPassword asks for a new password twice in a modal dialog and
  // sets it; the API's refusals stay in the dialog.
  async function resetPassword(u) {
    const done = await new Promise((resolve) => {
      const back = document.activeElement;
      const [nL, nw] = field('New password (at least 10 characters)', { type: 'password', id: 'reset-new', autocomplete: 'new-password' });
      const [rL, rep] = field('New password again', { type: 'password', id: 'reset-repeat', autocomplete: 'new-password' });
      const msg = el('p', { id: 'reset-out', hidden: true });
      const no = el('button', { type: 'button', id: 'reset-no' }, 'Cancel');
      const ok = el('button', { type: 'submit', class: 'danger', id: 'reset-yes' }, 'Reset the password');
      let answer = null;
      const form = el('form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        if (nw.value.length < 10) { nw.focus(); return say(msg, 'The new password needs at least 10 characters.'); }
        if (nw.value !== rep.value) { rep.focus(); return say(msg, 'The two passwords differ: type the same one twice.'); }
        ok.disabled = true;
        try {
          answer = await api('/api/users/' + encodeURIComponent(u.name), { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: nw.value }) });
          d.close();
        } catch (err) { say(msg, err.message); nw.focus(); } finally { ok.disabled = false; }
      } }, nL, rL, msg, el('div', { class: 'buttons' }, no, ok));
      const d = el('dialog', { class: 'confirm', id: 'reset-dialog', 'aria-labelledby': 'reset-title', 'aria-describedby': 'reset-text' },
        el('h2', { id: 'reset-title' }, `Reset the password of "${u.name}"?`),
        el('p', { id: 'reset-text' }, `${u.name}'s sessions end now: they log in again with the new password. Their API tokens stay.`), form);
      no.addEventListener('click', () => d.close());
      d.addEventListener('close', () => { d.remove(); if (back && back.isConnected) back.focus(); resolve(answer); });
      document.body.append(d);
      d.showModal();
      nw.focus();
    });
    if (!done) return;
    const n = done.sessions_ended || 0, k = done.api_tokens || 0;
    say(usersOut, `Reset the password of ${u.name}: ${n ? `${n === 1 ? 'their session has' : `their ${n} sessions have`} ended` : 'they had no sessions'}. ` +
      (k ? `Their ${k === 1 ? 'API token stays' : `${k} API tokens stay`}: they revoke any they no longer trust on their Account page. ` : '') +
      'Give them the new password by a safe way.', true);
  }

  async function del(u) {
    if (!await confirmDialog(`Delete the user "${u.name}"?`, `${u.name} (${u.role}) can no longer log in; their sessions and API tokens end now.`, 'Delete')) return;
    try {
      await api('/api/users/' + encodeURIComponent(u.name), { method: 'DELETE' });
      toast(`Deleted ${u.name}`);
    } catch (err) { toast(err.message, true); }
    await load();
    keepFocus(list);
  }
  await load();
}
