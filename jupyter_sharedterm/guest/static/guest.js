/*
 * The guest page of jupyter_sharedterm: join a shared terminal through an invite link.
 *
 * Security habits of this file: the secret is read from the fragment and removed from the
 * address bar before anything else runs; it is sent once, in a POST body, and forgotten.
 * Everything other people wrote (names, questions, titles, reasons) is shown with
 * textContent, never as HTML. The page never navigates anywhere and reads no query string.
 */
(function () {
  'use strict';

  // Read the secret, then take it out of the address bar (and out of history) at once.
  const secretFromLink = location.hash.length > 1 ? location.hash.slice(1) : '';
  history.replaceState(null, '', location.pathname);

  const body = document.body;
  const baseUrl = body.dataset.baseUrl || '/';
  const invite = body.dataset.invite || '';
  const xsrf = body.dataset.xsrf || '';
  const storeKey = 'sharedterm-guest:' + invite;

  const $ = id => document.getElementById(id);
  const el = {
    title: $('st-title'),
    you: $('st-you'),
    role: $('st-role'),
    banner: $('st-banner'),
    join: $('st-join'),
    joinForm: $('st-join-form'),
    joinButton: $('st-join-button'),
    joinError: $('st-join-error'),
    name: $('st-name'),
    message: $('st-message'),
    messageTitle: $('st-message-title'),
    messageText: $('st-message-text'),
    session: $('st-session'),
    terminal: $('st-terminal'),
    typing: $('st-typing'),
    copy: $('st-copy'),
    roster: $('st-roster'),
    questions: $('st-questions'),
    askForm: $('st-ask-form'),
    question: $('st-question')
  };

  const ROLE_LABEL = { owner: 'Owner', coworker: 'Co-worker', viewer: 'Viewer' };
  const CLOSE_ENDED = 4000;
  const CLOSE_REMOVED = 4001;

  let secret = secretFromLink;
  let joined = null; // {session, participant}
  let me = null; // participant id, from the setup frame
  let role = null;
  let names = {};
  let socket = null;
  let finished = false; // ended or removed: never reconnect
  let attempts = 0;
  let term = null;
  let fit = null;
  let typingTimer = null;

  // --- states ----------------------------------------------------------------------------------

  function setState(state) {
    body.dataset.state = state;
  }

  function show(section) {
    for (const s of [el.join, el.message, el.session]) {
      s.hidden = s !== section;
    }
  }

  function banner(text, tone) {
    el.banner.textContent = text || '';
    el.banner.dataset.tone = tone || 'warn';
    el.banner.hidden = !text;
  }

  function message(state, title, text) {
    finished = state === 'ended' || state === 'removed' || state === 'invalid';
    setState(state);
    el.messageTitle.textContent = title;
    el.messageText.textContent = text || '';
    if (state === 'ended' || state === 'removed') {
      // Keep the terminal visible (read-only) with the reason above it.
      banner(title + (text ? ' ' + text : ''), 'error');
      if (term) {
        term.options.disableStdin = true;
        term.options.cursorBlink = false;
      }
      el.askForm.hidden = true;
      el.role.hidden = true;
      el.typing.textContent = '';
      for (const li of el.roster.querySelectorAll('li')) {
        li.dataset.connected = 'false';
      }
      for (const keys of el.roster.querySelectorAll('.st-keyboard')) {
        keys.remove();
      }
      if (!el.session.hidden) {
        return;
      }
    }
    show(el.message);
  }

  // --- joining ---------------------------------------------------------------------------------

  async function join(name) {
    setState('joining');
    el.joinButton.disabled = true;
    el.joinButton.textContent = 'Joining…';
    el.joinError.hidden = true;
    let response;
    let reply = {};
    try {
      response = await fetch(baseUrl + 'api/sharedterm/join/' + encodeURIComponent(invite), {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': xsrf },
        body: JSON.stringify({ secret: secret, name: name })
      });
      reply = await response.json().catch(() => ({}));
    } catch (e) {
      joinFailed('The server could not be reached. Check your connection and try again.');
      return;
    }
    if (response.ok) {
      secret = ''; // the cookie is the credential from now on
      joined = { session: reply.session, participant: reply.participant };
      sessionStorage.setItem(storeKey, JSON.stringify(joined));
      role = reply.role;
      connect();
      return;
    }
    const text = typeof reply.message === 'string' ? reply.message : '';
    if (response.status === 410) {
      secret = '';
      message('ended', 'This session has ended.', text);
    } else if (response.status === 404) {
      secret = '';
      message('invalid', 'This invite link does not work.', text);
    } else {
      joinFailed(text || 'Joining failed (' + response.status + ').');
    }
  }

  function joinFailed(text) {
    setState('start');
    el.joinButton.disabled = false;
    el.joinButton.textContent = 'Join';
    el.joinError.textContent = text;
    el.joinError.hidden = false;
  }

  el.joinForm.addEventListener('submit', event => {
    event.preventDefault();
    const name = el.name.value.trim();
    if (name) {
      join(name);
    }
  });

  // --- the terminal ----------------------------------------------------------------------------

  function canType() {
    return role === 'owner' || role === 'coworker';
  }

  function openLink(event, uri) {
    let url;
    try {
      url = new URL(uri);
    } catch (e) {
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return;
    }
    if (window.confirm('Open this link from the terminal in a new tab?\n\n' + url.href)) {
      window.open(url.href, '_blank', 'noopener,noreferrer');
    }
  }

  function makeTerminal() {
    term = new window.Terminal({
      cursorBlink: true,
      convertEol: false,
      disableStdin: !canType(),
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: { background: '#161a22', foreground: '#e6e9ef', cursor: '#e6e9ef' },
      linkHandler: { activate: openLink, allowNonHttpProtocols: false }
    });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(el.terminal);
    term.onData(data => {
      if (canType()) {
        send(['stdin', data]);
      }
    });
    term.onBinary(data => {
      if (canType()) {
        send(['stdin', data]);
      }
    });
    term.onResize(size => sendSize(size.rows, size.cols));
    window.addEventListener('resize', () => fitTerminal());
    fitTerminal();
  }

  function fitTerminal() {
    if (fit && !el.session.hidden) {
      try {
        fit.fit();
      } catch (e) {
        // not laid out yet
      }
    }
  }

  function sendSize(rows, cols) {
    // The server applies a size only from the participant in control; viewers never resize.
    if (canType()) {
      send(['set_size', rows, cols]);
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
    }
  }

  // --- the socket ------------------------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return (
      scheme +
      '//' +
      location.host +
      baseUrl +
      'api/sharedterm/sessions/' +
      encodeURIComponent(joined.session) +
      '/terminal'
    );
  }

  function connect() {
    if (finished) {
      return;
    }
    let opened = false;
    let lastFrame = false;
    const ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onopen = () => {
      opened = true;
      attempts = 0;
    };
    ws.onmessage = event => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (!Array.isArray(frame)) {
        return;
      }
      if (frame[0] === 'disconnect') {
        lastFrame = true;
      }
      handle(frame);
    };
    ws.onclose = () => {
      if (socket !== ws || finished || lastFrame) {
        return;
      }
      attempts += 1;
      if (!opened && attempts >= 3) {
        sessionStorage.removeItem(storeKey);
        message(
          'closed',
          'You are no longer connected to this session.',
          'Your access may have ended. Ask the session owner for a new link.'
        );
        return;
      }
      const delay = Math.min(8000, 500 * 2 ** attempts);
      banner('Connection lost. Reconnecting…', 'warn');
      window.setTimeout(connect, delay);
    };
  }

  function handle(frame) {
    const kind = frame[0];
    if (kind === 'setup') {
      setup(frame[1] || {});
    } else if (kind === 'stdout') {
      if (term && typeof frame[1] === 'string') {
        term.write(frame[1]);
      }
    } else if (kind === 'disconnect') {
      const code = frame[1];
      const reason = typeof frame[2] === 'string' ? frame[2] : '';
      sessionStorage.removeItem(storeKey);
      if (code === CLOSE_REMOVED) {
        message('removed', 'You were removed from this session.', '');
      } else if (code === CLOSE_ENDED) {
        message('ended', 'This session has ended.', reason);
      } else {
        message('closed', 'The connection was closed.', reason);
      }
    } else if (kind === 'ctl' && frame[1] && typeof frame[1] === 'object') {
      control(frame[1]);
    }
  }

  function setup(info) {
    me = info.participant;
    setRole(info.role);
    setState('joined');
    el.title.textContent = info.title || 'Shared terminal';
    document.title = (info.title || 'Shared terminal') + ' · shared terminal';
    el.you.textContent = info.name ? 'You: ' + info.name : '';
    show(el.session);
    if (!term) {
      makeTerminal();
    } else {
      term.reset();
      fitTerminal();
    }
    if (term) {
      sendSize(term.rows, term.cols);
    }
    banner(recordingText(info.recording), 'info');
  }

  function setRole(next) {
    role = next;
    el.role.hidden = !next;
    el.role.textContent = ROLE_LABEL[next] || '';
    el.role.dataset.role = next || '';
    if (term) {
      term.options.disableStdin = !canType();
    }
  }

  function recordingText(recording) {
    if (!recording || !recording.state) {
      return '';
    }
    if (recording.state === 'paused') {
      return 'Recording is paused.';
    }
    if (recording.state === 'recording') {
      return 'This session is being recorded.';
    }
    return '';
  }

  function control(msg) {
    switch (msg.type) {
      case 'roster':
        renderRoster(Array.isArray(msg.participants) ? msg.participants : [], msg.driver);
        break;
      case 'role': {
        const before = role;
        setRole(msg.role);
        if (before !== msg.role) {
          setState('joined');
          banner(
            'Your role changed: you are now ' +
              (ROLE_LABEL[msg.role] || msg.role).toLowerCase() +
              (canType() ? ' and can type.' : ' and can only watch.'),
            'info'
          );
          if (term && canType()) {
            sendSize(term.rows, term.cols);
          }
        }
        break;
      }
      case 'typing':
        showTyping(msg.participant);
        break;
      case 'question':
        addQuestion(msg);
        break;
      case 'question_answered': {
        const item = el.questions.querySelector('[data-id="' + CSS.escape(String(msg.id)) + '"]');
        if (item) {
          item.dataset.answered = 'true';
        }
        break;
      }
      case 'notice':
      case 'error':
        if (typeof msg.message === 'string') {
          banner(msg.message, msg.type === 'error' ? 'error' : 'info');
        }
        break;
      case 'recording':
        banner(
          typeof msg.message === 'string' && msg.message ? msg.message : recordingText(msg),
          'info'
        );
        break;
      default:
        break;
    }
  }

  function renderRoster(people, driver) {
    names = {};
    el.roster.replaceChildren();
    for (const p of people) {
      names[p.id] = String(p.name);
      const li = document.createElement('li');
      li.dataset.connected = String(Boolean(p.connected));
      const dot = document.createElement('span');
      dot.className = 'st-presence';
      const name = document.createElement('span');
      name.className = 'st-name';
      name.textContent = String(p.name) + (p.id === me ? ' (you)' : '');
      const tag = document.createElement('span');
      tag.className = 'st-tag';
      tag.textContent = (ROLE_LABEL[p.role] || String(p.role)) + (p.kind === 'guest' ? ' · guest' : '');
      const details = document.createElement('span');
      details.className = 'st-details';
      details.append(tag);
      if (driver && p.id === driver) {
        const keys = document.createElement('span');
        keys.className = 'st-keyboard';
        keys.textContent = 'at the keyboard';
        details.append(keys);
      }
      li.append(dot, name, details);
      el.roster.append(li);
    }
  }

  function showTyping(pid) {
    if (!pid || pid === me) {
      return;
    }
    el.typing.textContent = (names[pid] || 'Someone') + ' is typing…';
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => {
      el.typing.textContent = '';
    }, 1500);
  }

  function addQuestion(q) {
    const li = document.createElement('li');
    li.dataset.id = String(q.id);
    li.dataset.answered = String(Boolean(q.answered));
    const from = document.createElement('span');
    from.className = 'st-from';
    from.textContent = String(q.name || names[q.from] || 'Someone');
    const text = document.createElement('span');
    text.textContent = String(q.text || '');
    li.append(from, text);
    el.questions.append(li);
  }

  el.askForm.addEventListener('submit', event => {
    event.preventDefault();
    const text = el.question.value.trim();
    if (text) {
      send(['ctl', { type: 'question', text: text }]);
      el.question.value = '';
    }
  });

  // --- copying ---------------------------------------------------------------------------------

  function screenText() {
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      lines.push(line ? line.translateToString(true) : '');
    }
    return lines.join('\n').replace(/\s+$/, '') + '\n';
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      // Not a secure context, or no permission: the old way.
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.className = 'st-offscreen';
      document.body.append(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      return ok;
    }
  }

  el.copy.addEventListener('click', async () => {
    if (!term) {
      return;
    }
    const selected = term.getSelection();
    const ok = await copyText(selected || screenText());
    el.copy.textContent = ok ? (selected ? 'Copied selection' : 'Copied screen') : 'Copy failed';
    window.setTimeout(() => {
      el.copy.textContent = 'Copy';
    }, 1500);
    term.focus();
  });

  // --- start -----------------------------------------------------------------------------------

  function start() {
    const stored = sessionStorage.getItem(storeKey);
    if (secret) {
      setState('start');
      show(el.join);
      el.name.focus();
    } else if (stored) {
      // A reload: the secret is gone, the cookie (if still valid) lets us back in.
      try {
        joined = JSON.parse(stored);
      } catch (e) {
        joined = null;
      }
      if (joined && joined.session) {
        setState('joining');
        banner('Reconnecting…', 'info');
        connect();
        return;
      }
      sessionStorage.removeItem(storeKey);
      start();
    } else {
      message(
        'invalid',
        'This link is incomplete.',
        'Open the whole invite link you were given, including the part after the “#”.'
      );
    }
  }

  start();
})();
