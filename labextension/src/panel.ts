/**
 * The session panel (right side bar): the current shared session's participants, who is in
 * control and typing, its recording (owners pause and resume it), the owner's controls (roles,
 * removal, invite links, ending), questions, and the list of your shared sessions.
 *
 * Everything other people wrote (names, questions, reasons) is set with `textContent`, never
 * parsed as HTML.
 */

import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { usersIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { describeError, SharedTermClient } from './client';
import { recordingText, roleLabel, SharedSession, typingText } from './model';
import {
  IInvite,
  InviteRole,
  IParticipant,
  IQuestion,
  ISessionModel,
  MAX_QUESTION_CHARS,
  mayType,
  Role,
  ROLES
} from './protocol';

const PANEL_CLASS = 'jp-SharedTerm-panel';

/** The side panel that follows the shared terminal you last used. */
export class SessionPanel extends Widget {
  constructor(options: SessionPanel.IOptions) {
    super();
    this._client = options.client;
    this._actions = options.actions;
    this._trans = (options.translator ?? nullTranslator).load(
      'jupyter_sharedterm'
    );
    const trans = this._trans;
    this.id = 'jp-SharedTerm-sessionPanel';
    this.addClass(PANEL_CLASS);
    this.title.icon = usersIcon;
    this.title.caption = trans.__('Shared terminal');

    const node = this.node;
    node.append(
      h('h2', {
        className: 'jp-SharedTerm-panelTitle',
        text: trans.__('Shared terminal')
      })
    );

    // --- nothing open -------------------------------------------------------------------------
    this._empty = h(
      'section',
      { className: 'jp-SharedTerm-empty' },
      h('p', {
        text: trans.__(
          'No shared terminal is open here. Share a terminal from its toolbar, start a new shared shell, or join with a link someone sent you.'
        )
      }),
      h('div', { className: 'jp-SharedTerm-row' }, [
        button(
          trans.__('New shared shell'),
          () => void this._actions.newSession(),
          'jp-SharedTerm-newSession'
        ),
        this._deviceButton(),
        button(
          trans.__('Join with a link…'),
          () => void this._actions.join(),
          'jp-SharedTerm-join'
        )
      ])
    );

    // --- the current session ------------------------------------------------------------------
    this._heading = h('div', { className: 'jp-SharedTerm-sessionHeading' });
    this._stateLine = h('div', {
      className: 'jp-SharedTerm-panelState',
      attrs: { role: 'status' }
    });
    this._controlLine = h('div', { className: 'jp-SharedTerm-driver' });
    this._typingLine = h('div', {
      className: 'jp-SharedTerm-panelTyping',
      attrs: { 'aria-live': 'polite' }
    });
    this._participants = h('ul', { className: 'jp-SharedTerm-participants' });

    this._recordingLabel = h('span', {
      className: 'jp-SharedTerm-recordingLabel'
    });
    this._recordingDetail = h('span', {
      className: 'jp-SharedTerm-recordingDetail'
    });
    this._recordingState = h(
      'div',
      {
        className: 'jp-SharedTerm-panelRecording',
        attrs: { role: 'status' }
      },
      h('span', {
        className: 'jp-SharedTerm-recordingDot',
        attrs: { 'aria-hidden': 'true' }
      }),
      this._recordingLabel,
      this._recordingDetail
    );
    this._recordingToggle = button(
      trans.__('Pause recording'),
      () => void this._toggleRecording(),
      'jp-SharedTerm-recordingToggle'
    );
    this._recordingSection = h(
      'section',
      { className: 'jp-SharedTerm-section jp-SharedTerm-recordingSection' },
      h('h3', { text: trans.__('Recording') }),
      this._recordingState,
      h('div', { className: 'jp-SharedTerm-row' }, [this._recordingToggle])
    );

    this._inviteRole = h('select', {
      className: 'jp-SharedTerm-inviteRole jp-mod-styled',
      attrs: { 'aria-label': trans.__('Role for the new link') }
    });
    for (const role of ['viewer', 'coworker'] as InviteRole[]) {
      const option = h('option', { text: roleLabel(role) });
      option.value = role;
      this._inviteRole.append(option);
    }
    this._inviteResult = h('div', { className: 'jp-SharedTerm-inviteResult' });
    this._inviteResult.hidden = true;
    this._invites = h('ul', { className: 'jp-SharedTerm-invites' });
    this._ownerSection = h(
      'section',
      { className: 'jp-SharedTerm-section jp-SharedTerm-inviteSection' },
      h('h3', { text: trans.__('Invite links') }),
      h('div', { className: 'jp-SharedTerm-row' }, [
        this._inviteRole,
        button(
          trans.__('Create link'),
          () => void this._createInvite(),
          'jp-SharedTerm-createInvite'
        )
      ]),
      this._inviteResult,
      this._invites
    );

    this._questions = h('ul', { className: 'jp-SharedTerm-questions' });
    this._askInput = h('input', {
      className: 'jp-SharedTerm-askInput jp-mod-styled',
      attrs: {
        type: 'text',
        maxlength: String(MAX_QUESTION_CHARS),
        placeholder: trans.__('Ask the people at the keyboard…'),
        'aria-label': trans.__('Your question')
      }
    });
    this._askInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this._ask();
      }
    });
    const questionSection = h(
      'section',
      { className: 'jp-SharedTerm-section jp-SharedTerm-questionSection' },
      h('h3', { text: trans.__('Questions') }),
      this._questions,
      h('div', { className: 'jp-SharedTerm-row' }, [
        this._askInput,
        button(trans.__('Ask'), () => this._ask(), 'jp-SharedTerm-ask')
      ])
    );

    this._endButton = button(
      trans.__('End session for everyone'),
      () => void this._end(),
      'jp-SharedTerm-endSession jp-mod-warn'
    );

    this._current = h(
      'section',
      { className: 'jp-SharedTerm-current' },
      this._heading,
      this._stateLine,
      this._controlLine,
      this._typingLine,
      this._recordingSection,
      h(
        'section',
        { className: 'jp-SharedTerm-section' },
        h('h3', { text: trans.__('People') }),
        this._participants
      ),
      this._ownerSection,
      questionSection,
      h('div', { className: 'jp-SharedTerm-row' }, [this._endButton])
    );

    // --- your sessions ------------------------------------------------------------------------
    this._sessions = h('ul', { className: 'jp-SharedTerm-sessions' });
    const listSection = h(
      'section',
      { className: 'jp-SharedTerm-section jp-SharedTerm-sessionList' },
      h('div', { className: 'jp-SharedTerm-row jp-SharedTerm-sectionHead' }, [
        h('h3', { text: trans.__('Your shared sessions') }),
        button(
          trans.__('Refresh'),
          () => void this.refreshSessions(),
          'jp-SharedTerm-refresh'
        )
      ]),
      this._sessions,
      h('div', { className: 'jp-SharedTerm-row' }, [
        button(
          trans.__('New shared shell'),
          () => void this._actions.newSession(),
          'jp-SharedTerm-newSession'
        ),
        this._deviceButton(),
        button(
          trans.__('Join with a link…'),
          () => void this._actions.join(),
          'jp-SharedTerm-join'
        )
      ])
    );

    node.append(this._empty, this._current, listSection);
    this._render();
    void this._checkDevices();
  }

  /** The session shown, or null. */
  get session(): SharedSession | null {
    return this._session;
  }

  set session(session: SharedSession | null) {
    if (session === this._session) {
      return;
    }
    if (this._session !== null && !this._session.isDisposed) {
      this._session.changed.disconnect(this._render, this);
      this._session.typingChanged.disconnect(this._renderTyping, this);
    }
    this._session = session;
    this._wasGone = false;
    this._signatures.clear();
    this._inviteResult.hidden = true;
    this._inviteResult.replaceChildren();
    if (session !== null) {
      session.changed.connect(this._render, this);
      session.typingChanged.connect(this._renderTyping, this);
    }
    this._render();
    void this.refreshSessions();
  }

  /** Fetch and show the list of your shared sessions. */
  async refreshSessions(): Promise<void> {
    let models: ISessionModel[];
    try {
      models = await this._client.listSessions();
    } catch (error) {
      this._sessions.replaceChildren(
        h('li', {
          className: 'jp-SharedTerm-error',
          text: describeError(error)
        })
      );
      return;
    }
    const trans = this._trans;
    const items = models
      .slice()
      .sort(
        (a, b) =>
          Number(a.state === 'ended') - Number(b.state === 'ended') ||
          b.created_at - a.created_at
      )
      .map(model => {
        const li = h('li', {
          className: 'jp-SharedTerm-sessionItem',
          attrs: { 'data-session': model.id, 'data-state': model.state }
        });
        const connected = model.participants.filter(p => p.connected).length;
        li.append(
          h('span', {
            className: 'jp-SharedTerm-sessionTitle',
            text: model.title
          }),
          h('span', {
            className: 'jp-SharedTerm-meta',
            text:
              model.state === 'ended'
                ? trans.__('ended')
                : trans.__(
                    '%1 · %2 connected',
                    roleLabel(model.you.role),
                    connected
                  )
          })
        );
        if (model.state === 'active') {
          const current = this._session?.id === model.id;
          li.append(
            button(
              current ? trans.__('Show') : trans.__('Open'),
              () => void this._actions.open(model.id),
              'jp-SharedTerm-openSession'
            )
          );
        }
        return li;
      });
    fillList(this._sessions, items, trans.__('None yet.'));
  }

  override dispose(): void {
    this.session = null;
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refreshSessions();
    void this._checkDevices();
  }

  /** A "New device session" button, shown once the server is known to offer devices. */
  private _deviceButton(): HTMLButtonElement {
    const element = button(
      this._trans.__('New device session…'),
      () => void this._actions.newDeviceSession(),
      'jp-SharedTerm-newDeviceSession'
    );
    element.title = this._trans.__(
      'Open a shared terminal on an SSH device (a switch, a router, a server)'
    );
    element.hidden = this._devicesOffered !== true;
    this._deviceButtons.push(element);
    return element;
  }

  /** Whether this server offers SSH devices; asked once (the list is set at server start). */
  private async _checkDevices(): Promise<void> {
    if (this._devicesOffered !== null || this._checkingDevices) {
      return;
    }
    this._checkingDevices = true;
    try {
      const inventory = await this._client.listDevices();
      this._devicesOffered = inventory.devices.length > 0 || inventory.adhoc;
    } catch {
      // Asked again the next time the panel is shown.
    } finally {
      this._checkingDevices = false;
    }
    for (const element of this._deviceButtons) {
      element.hidden = this._devicesOffered !== true;
    }
  }

  // --- rendering -------------------------------------------------------------------------------

  private _render(): void {
    const session = this._session;
    this._empty.hidden = session !== null;
    this._current.hidden = session === null;
    if (session === null) {
      return;
    }
    const trans = this._trans;
    const role = session.role;
    const state = session.connection.state;
    const ended = state.phase === 'ended' || session.model?.state === 'ended';
    const gone = ended || state.phase === 'removed' || state.phase === 'failed';
    if (gone && !this._wasGone) {
      void this.refreshSessions();
    }
    this._wasGone = gone;
    const isOwner = role === 'owner' && !gone;
    this.node.dataset.role = role ?? '';

    const transport =
      session.model?.transport ?? session.connection.setup?.transport;
    this._heading.replaceChildren(
      h('span', {
        className: 'jp-SharedTerm-sessionName',
        text: session.title
      }),
      ...(transport === 'ssh'
        ? [
            h('span', {
              className: 'jp-SharedTerm-transportBadge',
              text: trans.__('SSH device')
            })
          ]
        : []),
      h('span', {
        className: 'jp-SharedTerm-roleBadge',
        attrs: { 'data-role': role ?? '' },
        text:
          role === null
            ? trans.__('connecting')
            : trans.__('you are %1', roleLabel(role))
      })
    );

    let stateText = '';
    if (ended) {
      stateText = trans.__(
        'The session has ended: %1',
        state.reason || session.model?.end_reason || trans.__('no reason given')
      );
    } else if (state.phase === 'removed') {
      stateText = trans.__(
        'You are no longer in this session: %1',
        state.reason
      );
    } else if (state.phase === 'failed') {
      stateText = state.reason;
    } else if (state.phase === 'reconnecting') {
      stateText = trans.__('Reconnecting…');
    } else if (state.phase === 'connecting') {
      stateText = trans.__('Connecting…');
    } else if (role === 'viewer') {
      stateText = trans.__(
        'You are watching: the terminal is read-only for you. You can ask questions below.'
      );
    }
    this._stateLine.textContent = stateText;
    this._stateLine.hidden = stateText === '';
    this._stateLine.dataset.phase = state.phase;

    const driver = session.driver;
    this._controlLine.textContent =
      driver === null
        ? trans.__('Nobody is at the keyboard yet.')
        : driver === session.me
          ? trans.__('You are in control (you typed last).')
          : trans.__('In control: %1', session.nameOf(driver));

    this._renderRecording(session, isOwner, gone);
    this._renderParticipants(session, isOwner);
    this._ownerSection.hidden = !isOwner;
    this._endButton.hidden = !isOwner;
    if (isOwner) {
      this._renderInvites(session.invites);
    }
    this._renderQuestions(session.questions, mayType(role) && !gone);
    this._askInput.disabled = gone;
    this._renderTyping();
  }

  private _renderRecording(
    session: SharedSession,
    isOwner: boolean,
    gone: boolean
  ): void {
    const recording = session.recording;
    const text = gone ? null : recordingText(this._trans, recording);
    this._recordingSection.hidden = text === null;
    if (text === null) {
      return;
    }
    const state = recording?.state ?? '';
    this._recordingState.dataset.state = state;
    this._recordingLabel.textContent = text.label;
    this._recordingDetail.textContent = text.detail;
    const toggle = this._recordingToggle;
    const paused = state === 'paused';
    toggle.hidden = !isOwner || (state !== 'recording' && !paused);
    toggle.dataset.action = paused ? 'resume' : 'pause';
    toggle.textContent = paused
      ? this._trans.__('Resume recording')
      : this._trans.__('Pause recording');
    toggle.disabled = this._recordingBusy;
  }

  private _changedSection(key: string, value: unknown): boolean {
    const signature = JSON.stringify(value);
    if (this._signatures.get(key) === signature) {
      return false;
    }
    this._signatures.set(key, signature);
    return true;
  }

  private _renderParticipants(session: SharedSession, isOwner: boolean): void {
    const people = session.participants;
    if (
      !this._changedSection('participants', [
        people,
        session.driver,
        session.me,
        isOwner
      ])
    ) {
      return;
    }
    const trans = this._trans;
    this._typingMarks.clear();
    const rows = people.map(p => {
      const li = h('li', {
        className: 'jp-SharedTerm-participant',
        attrs: {
          'data-participant': p.id,
          'data-role': p.role,
          'data-connected': String(p.connected)
        }
      });
      const presence = h('span', {
        className: 'jp-SharedTerm-presence',
        attrs: { 'data-connected': String(p.connected), 'aria-hidden': 'true' }
      });
      const name = h('span', {
        className: 'jp-SharedTerm-participantName',
        text: p.name
      });
      const meta: string[] = [
        p.connected ? trans.__('online') : trans.__('offline')
      ];
      if (p.kind === 'guest') {
        meta.push(trans.__('guest'));
      }
      const details = h('span', {
        className: 'jp-SharedTerm-meta',
        text: meta.join(' · ')
      });
      li.append(presence, name);
      if (p.id === session.me) {
        li.append(
          h('span', { className: 'jp-SharedTerm-you', text: trans.__('(you)') })
        );
      }
      li.append(
        h('span', {
          className: 'jp-SharedTerm-roleBadge',
          attrs: { 'data-role': p.role },
          text: roleLabel(p.role)
        }),
        details
      );
      if (p.id === session.driver) {
        li.append(
          h('span', {
            className: 'jp-SharedTerm-inControl',
            text: trans.__('in control')
          })
        );
      }
      const typing = h('span', {
        className: 'jp-SharedTerm-typingMark',
        text: trans.__('typing…')
      });
      typing.hidden = !session.isTyping(p.id);
      this._typingMarks.set(p.id, typing);
      li.append(typing);
      if (isOwner && p.id !== session.me) {
        li.append(this._ownerControls(session, p));
      }
      return li;
    });
    this._participants.replaceChildren(...rows);
  }

  private _ownerControls(session: SharedSession, p: IParticipant): HTMLElement {
    const trans = this._trans;
    const select = h('select', {
      className: 'jp-SharedTerm-roleSelect jp-mod-styled',
      attrs: { 'aria-label': trans.__('Role of %1', p.name) }
    });
    for (const role of ROLES) {
      const option = h('option', { text: roleLabel(role) });
      option.value = role;
      option.selected = role === p.role;
      select.append(option);
    }
    select.addEventListener('change', () => {
      const role = select.value as Role;
      session.setRole(p.id, role).catch(error => {
        select.value = p.role;
        Notification.error(
          trans.__(
            'Could not change the role of %1: %2',
            p.name,
            describeError(error)
          ),
          {
            autoClose: 8000
          }
        );
      });
    });
    const remove = button(
      trans.__('Remove'),
      () => void this._remove(session, p),
      'jp-SharedTerm-remove jp-mod-warn'
    );
    remove.title = trans.__(
      'Disconnect %1; they cannot come back to this session',
      p.name
    );
    return h('span', { className: 'jp-SharedTerm-ownerControls' }, [
      select,
      remove
    ]);
  }

  private _renderTyping(): void {
    const session = this._session;
    if (session === null) {
      return;
    }
    this._typingLine.textContent = typingText(
      this._trans,
      session.typingNames()
    );
    for (const [pid, mark] of this._typingMarks) {
      mark.hidden = !session.isTyping(pid) || pid === session.me;
    }
  }

  private _renderInvites(invites: ReadonlyArray<IInvite>): void {
    if (!this._changedSection('invites', invites)) {
      return;
    }
    const trans = this._trans;
    const rows = invites
      .slice()
      .sort((a, b) => b.created_at - a.created_at)
      .map(invite => {
        const li = h('li', {
          className: 'jp-SharedTerm-invite',
          attrs: { 'data-invite': invite.id, 'data-state': invite.state }
        });
        const uses =
          invite.max_uses === null
            ? trans.__('used %1×', invite.uses)
            : trans.__('used %1 of %2', invite.uses, invite.max_uses);
        li.title = trans.__(
          'Created %1',
          new Date(invite.created_at * 1000).toLocaleString()
        );
        li.append(
          h('span', {
            className: 'jp-SharedTerm-roleBadge',
            attrs: { 'data-role': invite.role },
            text: roleLabel(invite.role)
          }),
          h('span', {
            className: 'jp-SharedTerm-meta',
            text: `${Private.inviteState(trans, invite)} · ${uses}`
          })
        );
        if (invite.state === 'active') {
          li.append(
            button(
              trans.__('Revoke'),
              () => void this._revoke(invite),
              'jp-SharedTerm-revoke jp-mod-warn'
            )
          );
        }
        return li;
      });
    this._invites.replaceChildren(...rows);
  }

  private _renderQuestions(
    questions: ReadonlyArray<IQuestion>,
    mayAnswer: boolean
  ): void {
    if (!this._changedSection('questions', [questions, mayAnswer])) {
      return;
    }
    const trans = this._trans;
    const rows = questions.map(q => {
      const li = h('li', {
        className: 'jp-SharedTerm-question',
        attrs: { 'data-question': q.id, 'data-answered': String(q.answered) }
      });
      li.append(
        h('span', { className: 'jp-SharedTerm-questionFrom', text: q.name }),
        h('span', { className: 'jp-SharedTerm-questionText', text: q.text })
      );
      if (q.answered) {
        li.append(
          h('span', {
            className: 'jp-SharedTerm-answered',
            text: trans.__('answered')
          })
        );
      } else if (mayAnswer) {
        li.append(
          button(
            trans.__('Mark answered'),
            () => this._answer(q.id),
            'jp-SharedTerm-markAnswered'
          )
        );
      }
      return li;
    });
    fillList(this._questions, rows, trans.__('No questions yet.'));
  }

  // --- actions ---------------------------------------------------------------------------------

  private async _createInvite(): Promise<void> {
    const session = this._session;
    if (session === null) {
      return;
    }
    const trans = this._trans;
    const role = this._inviteRole.value as InviteRole;
    let invite: IInvite;
    try {
      invite = await session.createInvite(role);
    } catch (error) {
      Notification.error(
        trans.__('Could not create a link: %1', describeError(error)),
        { autoClose: 8000 }
      );
      return;
    }
    const url = invite.url ?? '';
    const input = h('input', {
      className: 'jp-SharedTerm-inviteUrl jp-mod-styled',
      attrs: {
        type: 'text',
        readonly: '',
        'aria-label': trans.__('Invite link'),
        'data-role': role
      }
    });
    input.value = url;
    input.addEventListener('focus', () => input.select());
    const copy = button(
      trans.__('Copy'),
      () => {
        Clipboard.copyToSystem(url);
        Notification.success(trans.__('Link copied.'), { autoClose: 2000 });
      },
      'jp-SharedTerm-copyInvite'
    );
    this._inviteResult.replaceChildren(
      h('div', {
        className: 'jp-SharedTerm-meta',
        text: trans.__(
          'A %1 link. Copy it now: it is shown only once.',
          roleLabel(role)
        )
      }),
      h('div', { className: 'jp-SharedTerm-row' }, [input, copy])
    );
    this._inviteResult.hidden = false;
  }

  private async _toggleRecording(): Promise<void> {
    const session = this._session;
    if (session === null || this._recordingBusy) {
      return;
    }
    const pause = session.recording?.state !== 'paused';
    this._recordingBusy = true;
    this._recordingToggle.disabled = true;
    try {
      await session.setRecordingPaused(pause);
    } catch (error) {
      Notification.error(
        pause
          ? this._trans.__(
              'Could not pause the recording: %1',
              describeError(error)
            )
          : this._trans.__(
              'Could not resume the recording: %1',
              describeError(error)
            ),
        { autoClose: 8000 }
      );
    } finally {
      this._recordingBusy = false;
      this._render();
    }
  }

  private async _revoke(invite: IInvite): Promise<void> {
    const session = this._session;
    if (session === null) {
      return;
    }
    try {
      await session.revokeInvite(invite.id);
    } catch (error) {
      Notification.error(
        this._trans.__('Could not revoke the link: %1', describeError(error)),
        {
          autoClose: 8000
        }
      );
    }
  }

  private async _remove(
    session: SharedSession,
    p: IParticipant
  ): Promise<void> {
    const trans = this._trans;
    const result = await showDialog({
      title: trans.__('Remove %1?', p.name),
      body: trans.__(
        '%1 is disconnected now and cannot come back to this session.',
        p.name
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Remove') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await session.remove(p.id);
    } catch (error) {
      Notification.error(
        trans.__('Could not remove %1: %2', p.name, describeError(error)),
        {
          autoClose: 8000
        }
      );
    }
  }

  private async _end(): Promise<void> {
    const session = this._session;
    if (session === null) {
      return;
    }
    const trans = this._trans;
    const result = await showDialog({
      title: trans.__('End "%1" for everyone?', session.title),
      body: trans.__(
        'Everyone is disconnected, every invite link stops working and the shell is closed.'
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('End session') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await session.end();
    } catch (error) {
      Notification.error(
        trans.__('Could not end the session: %1', describeError(error)),
        {
          autoClose: 8000
        }
      );
    }
    void this.refreshSessions();
  }

  private _ask(): void {
    const session = this._session;
    const text = this._askInput.value.trim();
    if (session === null || !text) {
      return;
    }
    try {
      session.ask(text);
      this._askInput.value = '';
    } catch (error) {
      Notification.error(describeError(error), { autoClose: 6000 });
    }
  }

  private _answer(id: string): void {
    try {
      this._session?.answerQuestion(id);
    } catch (error) {
      Notification.error(describeError(error), { autoClose: 6000 });
    }
  }

  private _client: SharedTermClient;
  private _actions: SessionPanel.IActions;
  private _trans: TranslationBundle;
  private _session: SharedSession | null = null;
  private _wasGone = false;
  private _signatures = new Map<string, string>();
  private _typingMarks = new Map<string, HTMLElement>();
  private _empty: HTMLElement;
  private _current: HTMLElement;
  private _heading: HTMLElement;
  private _stateLine: HTMLElement;
  private _controlLine: HTMLElement;
  private _typingLine: HTMLElement;
  private _recordingSection: HTMLElement;
  private _recordingState: HTMLElement;
  private _recordingLabel: HTMLElement;
  private _recordingDetail: HTMLElement;
  private _recordingToggle: HTMLButtonElement;
  private _recordingBusy = false;
  private _devicesOffered: boolean | null = null;
  private _checkingDevices = false;
  private _deviceButtons: HTMLButtonElement[] = [];
  private _participants: HTMLUListElement;
  private _ownerSection: HTMLElement;
  private _inviteRole: HTMLSelectElement;
  private _inviteResult: HTMLElement;
  private _invites: HTMLUListElement;
  private _questions: HTMLUListElement;
  private _askInput: HTMLInputElement;
  private _endButton: HTMLButtonElement;
  private _sessions: HTMLUListElement;
}

export namespace SessionPanel {
  /** What the panel asks the application to do. */
  export interface IActions {
    open(sessionId: string): Promise<unknown>;
    newSession(): Promise<unknown>;
    /** Pick an SSH device and log in to it. */
    newDeviceSession(): Promise<unknown>;
    join(): Promise<unknown>;
  }

  export interface IOptions {
    client: SharedTermClient;
    actions: IActions;
    translator?: ITranslator;
  }
}

// --- DOM helpers: text only -------------------------------------------------------------------

interface IElementProps {
  className?: string;
  /** Set as textContent: never parsed as HTML. */
  text?: string;
  attrs?: Record<string, string>;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IElementProps,
  ...children: Array<Node | Node[]>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) {
    element.className = props.className;
  }
  if (props.text !== undefined) {
    element.textContent = props.text;
  }
  for (const [key, value] of Object.entries(props.attrs ?? {})) {
    element.setAttribute(key, value);
  }
  for (const child of children) {
    if (Array.isArray(child)) {
      element.append(...child);
    } else {
      element.append(child);
    }
  }
  return element;
}

/** Show `rows` in `list`, or a muted line saying there is nothing yet. */
function fillList(list: HTMLElement, rows: HTMLElement[], empty: string): void {
  list.replaceChildren(
    ...(rows.length > 0
      ? rows
      : [h('li', { className: 'jp-SharedTerm-muted', text: empty })])
  );
}

function button(
  label: string,
  onClick: () => void,
  className: string
): HTMLButtonElement {
  const element = h('button', {
    className: `jp-Button jp-mod-styled ${className}`,
    text: label
  });
  element.type = 'button';
  element.addEventListener('click', onClick);
  return element;
}

namespace Private {
  export function inviteState(
    trans: TranslationBundle,
    invite: IInvite
  ): string {
    switch (invite.state) {
      case 'active': {
        if (invite.expires_at === null) {
          return trans.__('active');
        }
        const minutes = Math.max(
          1,
          Math.round((invite.expires_at * 1000 - Date.now()) / 60000)
        );
        const left =
          minutes >= 2 * 24 * 60
            ? trans.__('%1 days', Math.round(minutes / (24 * 60)))
            : minutes >= 120
              ? trans.__('%1 h', Math.round(minutes / 60))
              : trans.__('%1 min', minutes);
        return trans.__('active, expires in %1', left);
      }
      case 'expired':
        return trans.__('expired');
      case 'revoked':
        return trans.__('revoked');
      case 'used_up':
        return trans.__('used up');
    }
  }
}
