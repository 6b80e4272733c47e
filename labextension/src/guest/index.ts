/**
 * The guest page: join a shared terminal through an invite link, with no Jupyter account.
 *
 * Built (esbuild, `jlpm build:guest`) into `jupyter_sharedterm/guest/static/guest.js` from the
 * same REST client, terminal connection and session state as JupyterLab's panel, with xterm.js
 * from npm. Security habits: the secret is read from the fragment and removed from the address
 * bar before anything else runs; it is sent once, in a POST body, and forgotten. Everything
 * other people wrote (names, questions, titles, reasons) is shown with textContent, never as
 * HTML. The page never navigates anywhere and reads no query string.
 */

import { ServerConnection } from '@jupyterlab/services';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

import { SharedTermClient, SharedTermError } from '../client';
import { SharedTerminalConnection } from '../connection';
import { roleLabel, SharedSession, typingText } from '../model';
import { IQuestion, IRecordingState, mayType, Role } from '../protocol';
import { ISessionState, nameOf } from '../state';

// Read the secret, then take it out of the address bar (and out of history) before the page
// does anything else (the imports above only define things).
const secretFromLink = location.hash.length > 1 ? location.hash.slice(1) : '';
history.replaceState(null, '', location.pathname);

/** What `body[data-state]` says (the tests and the styles read it). */
type PageState =
  | 'start'
  | 'joining'
  | 'joined'
  | 'ended'
  | 'removed'
  | 'closed'
  | 'invalid';

/** "Co-worker": the role as the badge shows it. */
function roleTitle(role: Role): string {
  const label = roleLabel(role);
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** The page has no translator: `%1` placeholders filled in, the text as it is. */
const untranslated = {
  __: (text: string, ...args: unknown[]): string =>
    text.replace(/%(\d+)/g, (_, n: string) => String(args[Number(n) - 1]))
};

/** A guest cannot ask REST why a socket was refused: a few quick tries, then say so. */
const GUEST_BACKOFF: Partial<SharedTerminalConnection.IBackoff> = {
  initialDelayMs: 1000,
  maxDelayMs: 8000,
  maxAttempts: 3
};

/** How long the Copy button says what it copied (ms). */
const COPIED_SHOWN_MS = 1500;

interface IJoined {
  session: string;
  participant: string;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`The guest page has no #${id}.`);
  }
  return element as T;
}

class GuestPage {
  constructor(secret: string) {
    const data = document.body.dataset;
    this._secret = secret;
    this._invite = data.invite ?? '';
    this._storeKey = `sharedterm-guest:${this._invite}`;
    const baseUrl = data.baseUrl ?? '/';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this._client = new SharedTermClient(
      ServerConnection.makeSettings({
        baseUrl: location.origin + baseUrl,
        wsUrl: `${scheme}//${location.host}${baseUrl}`,
        // The guest cookie and the page's _xsrf cookie are the only credentials.
        token: '',
        appendToken: false,
        init: {
          cache: 'no-store',
          credentials: 'same-origin',
          redirect: 'error',
          referrerPolicy: 'no-referrer'
        }
      })
    );
    this._el.joinForm.addEventListener('submit', event => {
      event.preventDefault();
      const name = this._el.name.value.trim();
      if (name) {
        void this._join(name);
      }
    });
    this._el.askForm.addEventListener('submit', event => {
      event.preventDefault();
      this._ask();
    });
    this._el.copy.addEventListener('click', () => void this._copy());
  }

  start(): void {
    const stored = sessionStorage.getItem(this._storeKey);
    if (this._secret) {
      this._setState('start');
      this._show(this._el.join);
      this._el.name.focus();
      return;
    }
    let joined: IJoined | null = null;
    try {
      joined = stored ? (JSON.parse(stored) as IJoined) : null;
    } catch {
      joined = null;
    }
    if (joined !== null && typeof joined.session === 'string') {
      // A reload: the secret is gone, the cookie (if still valid) lets us back in.
      this._setState('joining');
      this._banner('Reconnecting…', 'info');
      this._connect(joined.session);
      return;
    }
    sessionStorage.removeItem(this._storeKey);
    this._message(
      'invalid',
      'This link is incomplete.',
      'Open the whole invite link you were given, including the part after the “#”.'
    );
  }

  // --- joining ---------------------------------------------------------------------------------

  private async _join(name: string): Promise<void> {
    const el = this._el;
    this._setState('joining');
    el.joinButton.disabled = true;
    el.joinButton.textContent = 'Joining…';
    el.joinError.hidden = true;
    try {
      const reply = await this._client.join(this._invite, this._secret, name);
      this._secret = ''; // the cookie is the credential from now on
      const joined: IJoined = {
        session: reply.session,
        participant: reply.participant
      };
      sessionStorage.setItem(this._storeKey, JSON.stringify(joined));
      this._connect(reply.session);
    } catch (error) {
      if (error instanceof SharedTermError && error.status === 410) {
        this._secret = '';
        this._message('ended', 'This session has ended.', error.message);
      } else if (error instanceof SharedTermError && error.status === 404) {
        this._secret = '';
        this._message(
          'invalid',
          'This invite link does not work.',
          error.message
        );
      } else if (error instanceof SharedTermError) {
        this._joinFailed(error.message || `Joining failed (${error.status}).`);
      } else {
        this._joinFailed(
          'The server could not be reached. Check your connection and try again.'
        );
      }
    }
  }

  private _joinFailed(text: string): void {
    const el = this._el;
    this._setState('start');
    el.joinButton.disabled = false;
    el.joinButton.textContent = 'Join';
    el.joinError.textContent = text;
    el.joinError.hidden = false;
  }

  private _connect(sid: string): void {
    const connection = new SharedTerminalConnection({
      sessionId: sid,
      client: this._client,
      probe: false,
      backoff: GUEST_BACKOFF
    });
    const session = new SharedSession({
      sessionId: sid,
      client: this._client,
      connection,
      guest: true
    });
    this._session = session;
    connection.setupReceived.connect(() => this._onSetup());
    connection.messageReceived.connect((_, message) => {
      const text = message.content?.[0];
      if (message.type === 'stdout' && typeof text === 'string') {
        this._term?.write(text);
      }
    });
    connection.ctlReceived.connect((_, ctl) => {
      if (ctl.type === 'notice' || ctl.type === 'error') {
        this._banner(ctl.message, ctl.type === 'error' ? 'error' : 'info');
      } else if (ctl.type === 'recording') {
        this._banner(ctl.message || recordingText(ctl), 'info');
      }
    });
    connection.inputRefused.connect(() =>
      this._banner(
        'You are watching: only the people at the keyboard can type. Ask them below.',
        'info'
      )
    );
    session.roleChanged.connect((_, role) => this._onRoleChanged(role));
    session.stateChanged.connect((_, state) => this._render(state));
    session.typingChanged.connect(() => this._renderTyping());
  }

  // --- what the server says --------------------------------------------------------------------

  private _onSetup(): void {
    const session = this._session!;
    const setup = session.connection.setup!;
    const el = this._el;
    this._setState('joined');
    el.title.textContent = setup.title || 'Shared terminal';
    document.title = `${setup.title || 'Shared terminal'} · shared terminal`;
    el.you.textContent = setup.name ? `You: ${setup.name}` : '';
    this._show(el.session);
    if (this._term === null) {
      this._makeTerminal();
    } else {
      // The server replays the current screen to every new socket.
      this._term.reset();
      this._fit();
    }
    this._sendSize();
    this._banner(recordingText(setup.recording ?? null), 'info');
  }

  private _onRoleChanged(role: Role): void {
    this._setState('joined');
    this._banner(
      `Your role changed: you are now ${roleLabel(role)}` +
        (mayType(role) ? ' and can type.' : ' and can only watch.'),
      'info'
    );
  }

  private _render(state: ISessionState): void {
    const el = this._el;
    const role = state.role;
    el.role.hidden = role === null;
    el.role.textContent = role === null ? '' : roleTitle(role);
    el.role.dataset.role = role ?? '';
    if (this._term !== null) {
      this._term.options.disableStdin = !mayType(role);
    }
    const { phase, reason } = state.connection;
    if (phase === 'reconnecting' && state.live) {
      this._banner('Connection lost. Reconnecting…', 'warn');
    }
    if (phase === 'ended' || phase === 'removed' || phase === 'failed') {
      sessionStorage.removeItem(this._storeKey);
      if (phase === 'ended') {
        this._message('ended', 'This session has ended.', reason);
      } else if (phase === 'removed') {
        this._message('removed', 'You were removed from this session.', '');
      } else if (state.live) {
        this._message('closed', 'The connection was closed.', reason);
      } else {
        this._message(
          'closed',
          'You are no longer connected to this session.',
          'Your access may have ended. Ask the session owner for a new link.'
        );
      }
      return;
    }
    this._renderRoster(state);
    this._renderQuestions(state.questions);
  }

  private _renderRoster(state: ISessionState): void {
    const rows = state.participants.map(p => {
      const li = document.createElement('li');
      li.dataset.connected = String(Boolean(p.connected));
      const dot = document.createElement('span');
      dot.className = 'st-presence';
      const name = document.createElement('span');
      name.className = 'st-name';
      name.textContent = p.name + (p.id === state.me ? ' (you)' : '');
      const tag = document.createElement('span');
      tag.className = 'st-tag';
      tag.textContent =
        roleTitle(p.role) + (p.kind === 'guest' ? ' · guest' : '');
      const details = document.createElement('span');
      details.className = 'st-details';
      details.append(tag);
      if (state.driver !== null && p.id === state.driver) {
        const keys = document.createElement('span');
        keys.className = 'st-keyboard';
        keys.textContent = 'at the keyboard';
        details.append(keys);
      }
      li.append(dot, name, details);
      return li;
    });
    this._el.roster.replaceChildren(...rows);
  }

  private _renderQuestions(questions: ReadonlyArray<IQuestion>): void {
    const state = this._session!.state;
    const rows = questions.map(q => {
      const li = document.createElement('li');
      li.dataset.id = q.id;
      li.dataset.answered = String(q.answered);
      const from = document.createElement('span');
      from.className = 'st-from';
      from.textContent = q.name || nameOf(state, q.from);
      const text = document.createElement('span');
      text.textContent = q.text;
      li.append(from, text);
      return li;
    });
    this._el.questions.replaceChildren(...rows);
  }

  private _renderTyping(): void {
    this._el.typing.textContent = typingText(
      untranslated,
      this._session?.typingNames() ?? []
    );
  }

  // --- the terminal ----------------------------------------------------------------------------

  private _makeTerminal(): void {
    const term = new Terminal({
      cursorBlink: true,
      convertEol: false,
      disableStdin: !mayType(this._session?.state.role ?? null),
      fontFamily:
        'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: {
        background: '#161a22',
        foreground: '#e6e9ef',
        cursor: '#e6e9ef'
      },
      linkHandler: { activate: openLink, allowNonHttpProtocols: false }
    });
    this._term = term;
    term.loadAddon(this._fitAddon);
    term.open(this._el.terminal);
    // The connection drops input while you are a viewer, and sends your size only while you
    // may type (the server applies a size only from the participant in control).
    const type = (data: string): void =>
      this._session?.connection.send({ type: 'stdin', content: [data] });
    term.onData(type);
    term.onBinary(type);
    term.onResize(() => this._sendSize());
    window.addEventListener('resize', () => this._fit());
    this._fit();
  }

  private _fit(): void {
    if (this._term !== null && !this._el.session.hidden) {
      try {
        this._fitAddon.fit();
      } catch {
        // Not laid out yet.
      }
    }
  }

  private _sendSize(): void {
    const term = this._term;
    if (term !== null) {
      this._session?.connection.send({
        type: 'set_size',
        content: [term.rows, term.cols]
      });
    }
  }

  // --- questions and copying -------------------------------------------------------------------

  private _ask(): void {
    const text = this._el.question.value.trim();
    if (!text || this._session === null) {
      return;
    }
    try {
      this._session.ask(text);
      this._el.question.value = '';
    } catch (error) {
      this._banner((error as Error).message, 'warn');
    }
  }

  private async _copy(): Promise<void> {
    const term = this._term;
    if (term === null) {
      return;
    }
    const selected = term.getSelection();
    const ok = await copyText(selected || screenText(term));
    const copy = this._el.copy;
    copy.textContent = ok
      ? selected
        ? 'Copied selection'
        : 'Copied screen'
      : 'Copy failed';
    window.setTimeout(() => {
      copy.textContent = 'Copy';
    }, COPIED_SHOWN_MS);
    term.focus();
  }

  // --- page states -----------------------------------------------------------------------------

  private _setState(state: PageState): void {
    document.body.dataset.state = state;
  }

  private _show(section: HTMLElement): void {
    const el = this._el;
    for (const s of [el.join, el.message, el.session]) {
      s.hidden = s !== section;
    }
  }

  private _banner(text: string, tone: 'info' | 'warn' | 'error'): void {
    const banner = this._el.banner;
    banner.textContent = text;
    banner.dataset.tone = tone;
    banner.hidden = !text;
  }

  /** A final or explanatory state; after `ended` and `removed` the terminal stays, read-only. */
  private _message(state: PageState, title: string, text: string): void {
    const el = this._el;
    this._setState(state);
    el.messageTitle.textContent = title;
    el.messageText.textContent = text;
    if (state === 'ended' || state === 'removed') {
      this._banner(title + (text ? ` ${text}` : ''), 'error');
      if (this._term !== null) {
        this._term.options.disableStdin = true;
        this._term.options.cursorBlink = false;
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
    this._show(el.message);
  }

  private _secret: string;
  private readonly _invite: string;
  private readonly _storeKey: string;
  private readonly _client: SharedTermClient;
  private _session: SharedSession | null = null;
  private _term: Terminal | null = null;
  private readonly _fitAddon = new FitAddon();
  private readonly _el = {
    title: byId('st-title'),
    you: byId('st-you'),
    role: byId('st-role'),
    banner: byId('st-banner'),
    join: byId('st-join'),
    joinForm: byId<HTMLFormElement>('st-join-form'),
    joinButton: byId<HTMLButtonElement>('st-join-button'),
    joinError: byId('st-join-error'),
    name: byId<HTMLInputElement>('st-name'),
    message: byId('st-message'),
    messageTitle: byId('st-message-title'),
    messageText: byId('st-message-text'),
    session: byId('st-session'),
    terminal: byId('st-terminal'),
    typing: byId('st-typing'),
    copy: byId<HTMLButtonElement>('st-copy'),
    roster: byId('st-roster'),
    questions: byId('st-questions'),
    askForm: byId<HTMLFormElement>('st-ask-form'),
    question: byId<HTMLTextAreaElement>('st-question')
  };
}

/** What the banner says about the recording when someone (re)joins. */
function recordingText(recording: IRecordingState | null): string {
  switch (recording?.state) {
    case 'paused':
      return 'Recording is paused.';
    case 'recording':
      return 'This session is being recorded.';
    default:
      return '';
  }
}

/** Links in the terminal open in a new tab, after asking, and only http(s). */
function openLink(_event: MouseEvent, uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return;
  }
  if (
    window.confirm(
      `Open this link from the terminal in a new tab?\n\n${url.href}`
    )
  ) {
    window.open(url.href, '_blank', 'noopener,noreferrer');
  }
}

function screenText(term: Terminal): string {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
  }
  return `${lines.join('\n').replace(/\s+$/, '')}\n`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
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

new GuestPage(secretFromLink).start();
