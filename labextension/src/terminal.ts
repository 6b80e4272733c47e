/**
 * The shared terminal tab: JupyterLab's own `Terminal` widget on a SharedTerminalConnection,
 * with a toolbar that says where the connection stands, your role ("Read-only" for viewers)
 * and who is typing, a banner that explains every state that is not plain "connected", and a
 * recording line that everyone sees while the session is recorded (or paused, or failing).
 */

import {
  MainAreaWidget,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { ITerminal, Terminal } from '@jupyterlab/terminal';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { usersIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IConnectionState, SharedTerminalConnection } from './connection';
import { recordingText, roleLabel, SharedSession, typingText } from './model';
import { IRecordingState, mayType, Role, ServerCtl } from './protocol';

const PANEL_CLASS = 'jp-SharedTerm-terminalPanel';

/** The same notice or refusal is shown at most this often (ms). */
const NOTIFY_INTERVAL_MS = 5000;

/** A main-area tab showing one shared session's terminal. */
export class SharedTerminalPanel extends MainAreaWidget<Terminal> {
  constructor(options: SharedTerminalPanel.IOptions) {
    const translator = options.translator ?? nullTranslator;
    const session = options.session;
    const content = new Terminal(
      session.connection,
      {
        ...options.terminalOptions,
        // Closing the tab leaves the session; it never ends it or closes the shell.
        shutdownOnClose: false,
        closeOnExit: false,
        initialCommand: ''
      },
      translator
    );
    super({ content, reveal: content.ready });
    this.session = session;
    this._trans = translator.load('jupyter_sharedterm');
    this.addClass(PANEL_CLASS);
    this.id = `jp-SharedTerm-terminal-${session.id}`;
    this.node.dataset.sharedtermSession = session.id;
    this.title.icon = usersIcon;
    this.title.closable = true;

    // The Terminal widget names itself after the terminal (or what the shell sets);
    // keep a name that says this tab is shared.
    content.title.changed.connect(this._syncTitle, this);
    session.stateChanged.connect(this._syncTitle, this);

    this._status = Private.textItem('jp-SharedTerm-status');
    this._status.node.setAttribute('role', 'status');
    this._badge = Private.textItem('jp-SharedTerm-readOnlyBadge');
    this._badge.node.textContent = this._trans.__('Read-only');
    this._badge.node.title = this._trans.__(
      'You are a viewer: you see the terminal live and can select and copy, but not type.'
    );
    this._typing = Private.textItem('jp-SharedTerm-typing');
    this._typing.node.setAttribute('aria-live', 'polite');
    this.toolbar.addItem('sharedterm-status', this._status);
    this.toolbar.addItem('sharedterm-read-only', this._badge);
    this.toolbar.addItem('sharedterm-typing', this._typing);
    if (options.onShowPanel) {
      const show = options.onShowPanel;
      this.toolbar.addItem(
        'sharedterm-show-panel',
        new ToolbarButton({
          icon: usersIcon,
          label: this._trans.__('Session'),
          tooltip: this._trans.__('Show participants, invites and questions'),
          onClick: () => show(this)
        })
      );
    }
    this._banner = new Private.Banner(this._trans);
    this._banner.retryRequested.connect(() => {
      void session.connection.reconnect().catch(() => undefined);
    });
    this.contentHeader.addWidget(this._banner);
    this._recording = new Private.RecordingBanner();
    this.contentHeader.addWidget(this._recording);

    const connection = session.connection;
    connection.stateChanged.connect(this._onState, this);
    connection.inputRefused.connect(this._onInputRefused, this);
    connection.recordingChanged.connect(this._onRecording, this);
    connection.ctlReceived.connect(this._onCtl, this);
    session.roleChanged.connect(this._onRoleChanged, this);
    session.stateChanged.connect(this._updateRole, this);
    session.typingChanged.connect(this._updateTyping, this);
    this._onState(connection, connection.state);
    this.onRecordingStateChanged(session.state.recording);
    this._updateRole();
    this._updateTyping();
    this._syncTitle();
  }

  /** The session this tab shows; disposed with the tab. */
  readonly session: SharedSession;

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this.session.dispose();
  }

  /**
   * Called with the server's recording state on every change (and on every connection):
   * shows the recording line above the terminal, for every participant.
   */
  protected onRecordingStateChanged(state: IRecordingState | null): void {
    const phase = this.session.connection.state.phase;
    const live = phase === 'connected' || phase === 'reconnecting';
    this._recording.display(
      state?.state ?? '',
      live ? recordingText(this._trans, state) : null
    );
  }

  /** Server notices and refusals become notifications (at most one per code every 5 s). */
  private _onCtl(_: SharedTerminalConnection, ctl: ServerCtl): void {
    if (ctl.type !== 'notice' && ctl.type !== 'error') {
      return;
    }
    const now = Date.now();
    const key = `${ctl.type}:${ctl.code}`;
    if (now - (this._lastNotified.get(key) ?? 0) < NOTIFY_INTERVAL_MS) {
      return;
    }
    this._lastNotified.set(key, now);
    const message = this._trans.__(
      '%1: %2',
      this.session.state.title,
      ctl.message
    );
    if (ctl.type === 'error') {
      Notification.error(message, { autoClose: 6000 });
    } else if (ctl.code === 'owner_away') {
      Notification.warning(message, { autoClose: false });
    } else {
      Notification.info(message, { autoClose: 5000 });
    }
  }

  private _onRecording(
    _: SharedTerminalConnection,
    state: IRecordingState | null
  ): void {
    this.onRecordingStateChanged(state);
  }

  private _syncTitle(): void {
    const label = this._trans.__('Shared: %1', this.session.state.title);
    if (this.content.title.label !== label) {
      this.content.title.label = label;
    }
    this.content.title.caption = this._trans.__(
      'Shared terminal "%1" — you are %2',
      this.session.state.title,
      roleLabel(this.session.state.role) || this._trans.__('connecting')
    );
  }

  private _onState(_: SharedTerminalConnection, state: IConnectionState): void {
    this._status.node.dataset.phase = state.phase;
    this._status.node.textContent = Private.phaseLabel(this._trans, state);
    this._banner.display(state);
    this.node.dataset.phase = state.phase;
    // A session that is over records nothing more: its recording line goes with it.
    this.onRecordingStateChanged(this.session.state.recording);
    this._updateRole();
  }

  private _onRoleChanged(_: SharedSession, role: Role): void {
    const message = this._trans.__(
      'You are now a %1 in "%2".',
      roleLabel(role),
      this.session.state.title
    );
    Notification.info(message, { autoClose: 6000 });
    this._updateRole();
  }

  private _onInputRefused(): void {
    this._badge.node.classList.remove('jp-mod-flash');
    // Restart the animation: a keystroke that goes nowhere gets a visible answer.
    void this._badge.node.offsetWidth;
    this._badge.node.classList.add('jp-mod-flash');
  }

  private _updateRole(): void {
    const role = this.session.state.role;
    const live = this.session.connection.state.phase === 'connected';
    const readOnly = role !== null && !mayType(role);
    this._badge.setHidden(!readOnly);
    this.toggleClass('jp-mod-readOnly', readOnly);
    this.node.dataset.role = role ?? '';
    if (live && role !== null) {
      this._status.node.textContent = this._trans.__(
        'Connected as %1',
        roleLabel(role)
      );
    }
    this._syncTitle();
  }

  private _updateTyping(): void {
    const names = this.session.typingNames();
    this._typing.node.textContent = typingText(this._trans, names);
  }

  private _trans: TranslationBundle;
  private _status: Widget;
  private _badge: Widget;
  private _typing: Widget;
  private _recording: Private.RecordingBanner;
  private _banner: Private.Banner;
  private _lastNotified = new Map<string, number>();
}

export namespace SharedTerminalPanel {
  export interface IOptions {
    session: SharedSession;
    /** The user's terminal settings (font, theme, scrollback, ...). */
    terminalOptions?: Partial<ITerminal.IOptions>;
    translator?: ITranslator;
    /** Shows the session panel for this tab. */
    onShowPanel?: (panel: SharedTerminalPanel) => void;
  }
}

namespace Private {
  export function textItem(className: string): Widget {
    const widget = new Widget({ node: document.createElement('span') });
    widget.addClass(className);
    widget.addClass('jp-SharedTerm-toolbarText');
    return widget;
  }

  export function phaseLabel(
    trans: TranslationBundle,
    state: IConnectionState
  ): string {
    switch (state.phase) {
      case 'connecting':
        return trans.__('Connecting…');
      case 'connected':
        return trans.__('Connected');
      case 'reconnecting':
        return trans.__('Reconnecting…');
      case 'ended':
        return trans.__('Session ended');
      case 'removed':
        return trans.__('Removed');
      case 'failed':
        return trans.__('Disconnected');
    }
  }

  /**
   * The recording line above the terminal: a red dot and "Recording", "Recording paused by
   * Alice", "Recording failed: input paused", with the server's detail. Text only.
   */
  export class RecordingBanner extends Widget {
    constructor() {
      super();
      this.addClass('jp-SharedTerm-recordingBanner');
      this.node.setAttribute('role', 'status');
      this.node.setAttribute('aria-live', 'polite');
      const dot = document.createElement('span');
      dot.className = 'jp-SharedTerm-recordingDot';
      dot.setAttribute('aria-hidden', 'true');
      this._label = document.createElement('span');
      this._label.className = 'jp-SharedTerm-recordingLabel';
      this._detail = document.createElement('span');
      this._detail.className = 'jp-SharedTerm-recordingDetail';
      this.node.append(dot, this._label, this._detail);
      this.hide();
    }

    /** Show `text` for a recording in `state`; hidden when `text` is null. */
    display(
      state: string,
      text: { label: string; detail: string } | null
    ): void {
      this.node.dataset.state = state;
      if (text === null) {
        this.hide();
        return;
      }
      this._label.textContent = text.label;
      this._detail.textContent = text.detail;
      this.node.title = `${text.label}. ${text.detail}`;
      this.show();
    }

    private _label: HTMLSpanElement;
    private _detail: HTMLSpanElement;
  }

  /** The line above the terminal that explains any state but "connected". */
  export class Banner extends Widget {
    constructor(trans: TranslationBundle) {
      super();
      this._trans = trans;
      this.addClass('jp-SharedTerm-banner');
      this.node.setAttribute('role', 'alert');
      this._message = document.createElement('span');
      this._message.className = 'jp-SharedTerm-bannerMessage';
      this._retry = document.createElement('button');
      this._retry.className =
        'jp-Button jp-mod-styled jp-mod-accept jp-SharedTerm-retry';
      this._retry.textContent = trans.__('Retry now');
      this._retry.addEventListener('click', () => this._retryRequested.emit());
      this.node.append(this._message, this._retry);
      this.hide();
    }

    get retryRequested(): ISignal<this, void> {
      return this._retryRequested;
    }

    /** Show what `state` means (hidden while connected). */
    display(state: IConnectionState): void {
      if (this._countdown !== null) {
        window.clearInterval(this._countdown);
        this._countdown = null;
      }
      this.node.dataset.phase = state.phase;
      const trans = this._trans;
      switch (state.phase) {
        case 'connected':
          this.hide();
          return;
        case 'connecting':
          this._set(trans.__('Connecting to the shared terminal…'), false);
          break;
        case 'reconnecting': {
          const render = (): void => {
            const seconds =
              state.retryAt === null
                ? 0
                : Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
            const why = state.reason ? `${state.reason} ` : '';
            this._set(
              seconds > 0
                ? trans.__(
                    '%1Reconnecting in %2 s (attempt %3)…',
                    why,
                    seconds,
                    state.attempt
                  )
                : trans.__(
                    '%1Reconnecting (attempt %2)…',
                    why,
                    Math.max(1, state.attempt)
                  ),
              true
            );
          };
          render();
          if (state.retryAt !== null) {
            this._countdown = window.setInterval(render, 1000);
          }
          break;
        }
        case 'ended':
          this._set(trans.__('The session has ended: %1', state.reason), false);
          break;
        case 'removed':
          this._set(
            trans.__('You are no longer in this session: %1', state.reason),
            false
          );
          break;
        case 'failed':
          this._set(state.reason, true);
          break;
      }
      this.show();
    }

    override dispose(): void {
      if (this._countdown !== null) {
        window.clearInterval(this._countdown);
      }
      super.dispose();
    }

    private _set(message: string, retry: boolean): void {
      this._message.textContent = message;
      this._retry.hidden = !retry;
    }

    private _trans: TranslationBundle;
    private _message: HTMLSpanElement;
    private _retry: HTMLButtonElement;
    private _countdown: number | null = null;
    private _retryRequested = new Signal<this, void>(this);
  }
}
