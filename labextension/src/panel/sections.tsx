/**
 * The session panel's sections: one `VDomRenderer` each, all rendering the same `PanelModel`
 * (the current session's state stream). React sets every text people wrote as text, never
 * as HTML.
 */

import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button, HTMLSelect, VDomRenderer } from '@jupyterlab/ui-components';
import * as React from 'react';

import { describeError } from '../client';
import { recordingText, roleLabel, typingText } from '../model';
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
} from '../protocol';
import { hasEnded, isGone, ISessionState, nameOf } from '../state';
import type { ISharedSession } from '../tokens';
import { PanelModel } from './model';

/** What every section derives from the current session. */
interface IView {
  session: ISharedSession;
  state: ISessionState;
  role: Role | null;
  ended: boolean;
  gone: boolean;
  isOwner: boolean;
}

function viewOf(session: ISharedSession | null): IView | null {
  if (session === null) {
    return null;
  }
  const state = session.state;
  const gone = isGone(state);
  return {
    session,
    state,
    role: state.role,
    ended: hasEnded(state),
    gone,
    isOwner: state.role === 'owner' && !gone
  };
}

/** A section of the panel: hidden while it has nothing to show. */
abstract class Section extends VDomRenderer<PanelModel> {
  constructor(
    model: PanelModel,
    protected readonly trans: TranslationBundle,
    className: string
  ) {
    super(model);
    this.addClass(className);
  }

  protected render(): React.ReactElement | null {
    const content = this.content(viewOf(this.model.session));
    this.setHidden(content === null);
    return content;
  }

  /** The section's content, or null to hide it. */
  protected abstract content(view: IView | null): React.ReactElement | null;
}

function action(
  label: string,
  onClick: () => void,
  className: string,
  extra: { title?: string; disabled?: boolean; 'data-action'?: string } = {}
): React.ReactElement {
  return (
    <Button
      className={`jp-mod-styled ${className}`}
      type="button"
      onClick={onClick}
      {...extra}
    >
      {label}
    </Button>
  );
}

/** New shared shell, new device session (when the server has devices), join with a link. */
function startButtons(
  model: PanelModel,
  trans: TranslationBundle
): React.ReactElement {
  const { actions } = model;
  return (
    <div className="jp-SharedTerm-row">
      {action(
        trans.__('New shared shell'),
        () => void actions.newSession(),
        'jp-SharedTerm-newSession'
      )}
      {model.devicesOffered === true &&
        action(
          trans.__('New device session…'),
          () => void actions.newDeviceSession(),
          'jp-SharedTerm-newDeviceSession',
          {
            title: trans.__(
              'Open a shared terminal on an SSH device (a switch, a router, a server)'
            )
          }
        )}
      {action(
        trans.__('Join with a link…'),
        () => void actions.join(),
        'jp-SharedTerm-join'
      )}
    </div>
  );
}

/** A list, or a muted line saying there is nothing yet. */
function listOrEmpty(
  className: string,
  rows: React.ReactElement[],
  empty: string
): React.ReactElement {
  return (
    <ul className={className}>
      {rows.length > 0 ? (
        rows
      ) : (
        <li className="jp-SharedTerm-muted">{empty}</li>
      )}
    </ul>
  );
}

// --- nothing open -------------------------------------------------------------------------------

export class EmptySection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-empty');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view !== null) {
      return null;
    }
    const trans = this.trans;
    return (
      <>
        <p>
          {trans.__(
            'No shared terminal is open here. Share a terminal from its toolbar, start a new shared shell, or join with a link someone sent you.'
          )}
        </p>
        {startButtons(this.model, trans)}
      </>
    );
  }
}

// --- who you are, how the connection stands, who is at the keyboard -----------------------------

export class StatusSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-current');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null) {
      return null;
    }
    const trans = this.trans;
    const { session, state, role, ended } = view;
    const phase = state.connection.phase;
    let stateText = '';
    if (ended) {
      stateText = trans.__(
        'The session has ended: %1',
        state.connection.reason ||
          state.endReason ||
          trans.__('no reason given')
      );
    } else if (phase === 'removed') {
      stateText = trans.__(
        'You are no longer in this session: %1',
        state.connection.reason
      );
    } else if (phase === 'failed') {
      stateText = state.connection.reason;
    } else if (phase === 'reconnecting') {
      stateText = trans.__('Reconnecting…');
    } else if (phase === 'connecting') {
      stateText = trans.__('Connecting…');
    } else if (role === 'viewer') {
      stateText = trans.__(
        'You are watching: the terminal is read-only for you. You can ask questions below.'
      );
    }
    const driver = state.driver;
    return (
      <>
        <div className="jp-SharedTerm-sessionHeading">
          <span className="jp-SharedTerm-sessionName">{state.title}</span>
          {state.transport === 'ssh' && (
            <span className="jp-SharedTerm-transportBadge">
              {trans.__('SSH device')}
            </span>
          )}
          <span className="jp-SharedTerm-roleBadge" data-role={role ?? ''}>
            {role === null
              ? trans.__('connecting')
              : trans.__('you are %1', roleLabel(role))}
          </span>
        </div>
        <div
          className="jp-SharedTerm-panelState"
          role="status"
          data-phase={phase}
          hidden={stateText === ''}
        >
          {stateText}
        </div>
        <div className="jp-SharedTerm-driver">
          {driver === null
            ? trans.__('Nobody is at the keyboard yet.')
            : driver === state.me
              ? trans.__('You are in control (you typed last).')
              : trans.__('In control: %1', nameOf(state, driver))}
        </div>
        <div className="jp-SharedTerm-panelTyping" aria-live="polite">
          {typingText(trans, session.typingNames())}
        </div>
      </>
    );
  }
}

// --- the recording ------------------------------------------------------------------------------

export class RecordingSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-section');
    this.addClass('jp-SharedTerm-recordingSection');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null || view.gone) {
      return null;
    }
    const trans = this.trans;
    const recording = view.state.recording;
    const text = recordingText(trans, recording);
    if (text === null) {
      return null;
    }
    const state = recording?.state ?? '';
    const paused = state === 'paused';
    const toggle = (): void => {
      this.model
        .toggleRecording()
        .catch(error =>
          Notification.error(
            paused
              ? trans.__(
                  'Could not resume the recording: %1',
                  describeError(error)
                )
              : trans.__(
                  'Could not pause the recording: %1',
                  describeError(error)
                ),
            { autoClose: 8000 }
          )
        );
    };
    return (
      <>
        <h3>{trans.__('Recording')}</h3>
        <div
          className="jp-SharedTerm-panelRecording"
          role="status"
          data-state={state}
        >
          <span className="jp-SharedTerm-recordingDot" aria-hidden="true" />
          <span className="jp-SharedTerm-recordingLabel">{text.label}</span>
          <span className="jp-SharedTerm-recordingDetail">{text.detail}</span>
        </div>
        {view.isOwner && (state === 'recording' || paused) && (
          <div className="jp-SharedTerm-row">
            {action(
              paused
                ? trans.__('Resume recording')
                : trans.__('Pause recording'),
              toggle,
              'jp-SharedTerm-recordingToggle',
              {
                disabled: this.model.recordingBusy,
                'data-action': paused ? 'resume' : 'pause'
              }
            )}
          </div>
        )}
      </>
    );
  }
}

// --- people -------------------------------------------------------------------------------------

export class PeopleSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-section');
    this.addClass('jp-SharedTerm-peopleSection');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null) {
      return null;
    }
    const { session, state, isOwner } = view;
    return (
      <>
        <h3>{this.trans.__('People')}</h3>
        <ul className="jp-SharedTerm-participants">
          {state.participants.map(p => (
            <Participant
              key={p.id}
              participant={p}
              session={session}
              isMe={p.id === state.me}
              inControl={p.id === state.driver}
              isOwner={isOwner}
              trans={this.trans}
            />
          ))}
        </ul>
      </>
    );
  }
}

function Participant(props: {
  participant: IParticipant;
  session: ISharedSession;
  isMe: boolean;
  inControl: boolean;
  isOwner: boolean;
  trans: TranslationBundle;
}): React.ReactElement {
  const { participant: p, session, isMe, trans } = props;
  const meta = [p.connected ? trans.__('online') : trans.__('offline')];
  if (p.kind === 'guest') {
    meta.push(trans.__('guest'));
  }
  return (
    <li
      className="jp-SharedTerm-participant"
      data-participant={p.id}
      data-role={p.role}
      data-connected={String(p.connected)}
    >
      <span
        className="jp-SharedTerm-presence"
        data-connected={String(p.connected)}
        aria-hidden="true"
      />
      <span className="jp-SharedTerm-participantName">{p.name}</span>
      {isMe && <span className="jp-SharedTerm-you">{trans.__('(you)')}</span>}
      <span className="jp-SharedTerm-roleBadge" data-role={p.role}>
        {roleLabel(p.role)}
      </span>
      <span className="jp-SharedTerm-meta">{meta.join(' · ')}</span>
      {props.inControl && (
        <span className="jp-SharedTerm-inControl">
          {trans.__('in control')}
        </span>
      )}
      <span
        className="jp-SharedTerm-typingMark"
        hidden={isMe || !session.isTyping(p.id)}
      >
        {trans.__('typing…')}
      </span>
      {props.isOwner && !isMe && (
        <OwnerControls participant={p} session={session} trans={trans} />
      )}
    </li>
  );
}

function OwnerControls(props: {
  participant: IParticipant;
  session: ISharedSession;
  trans: TranslationBundle;
}): React.ReactElement {
  const { participant: p, session, trans } = props;
  // The role asked for, shown while the server has not said otherwise.
  const [pending, setPending] = React.useState<Role | null>(null);
  React.useEffect(() => setPending(null), [p.role]);
  const change = (role: Role): void => {
    setPending(role);
    session.setRole(p.id, role).catch(error => {
      setPending(null);
      Notification.error(
        trans.__(
          'Could not change the role of %1: %2',
          p.name,
          describeError(error)
        ),
        { autoClose: 8000 }
      );
    });
  };
  const remove = async (): Promise<void> => {
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
        { autoClose: 8000 }
      );
    }
  };
  return (
    <span className="jp-SharedTerm-ownerControls">
      <HTMLSelect
        className="jp-SharedTerm-roleSelect"
        aria-label={trans.__('Role of %1', p.name)}
        value={pending ?? p.role}
        onChange={event => change(event.target.value as Role)}
        options={ROLES.map(role => ({ value: role, label: roleLabel(role) }))}
      />
      {action(
        trans.__('Remove'),
        () => void remove(),
        'jp-SharedTerm-remove jp-mod-warn',
        {
          title: trans.__(
            'Disconnect %1; they cannot come back to this session',
            p.name
          )
        }
      )}
    </span>
  );
}

// --- invite links (owners) ----------------------------------------------------------------------

export class InviteSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-section');
    this.addClass('jp-SharedTerm-inviteSection');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null || !view.isOwner) {
      return null;
    }
    return (
      <InviteLinks
        model={this.model}
        session={view.session}
        invites={view.state.invites}
        trans={this.trans}
      />
    );
  }
}

function InviteLinks(props: {
  model: PanelModel;
  session: ISharedSession;
  invites: ReadonlyArray<IInvite>;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, session, trans } = props;
  const [role, setRole] = React.useState<InviteRole>('viewer');
  const create = (): void => {
    model
      .createInvite(role)
      .catch(error =>
        Notification.error(
          trans.__('Could not create a link: %1', describeError(error)),
          { autoClose: 8000 }
        )
      );
  };
  const revoke = (invite: IInvite): void => {
    session
      .revokeInvite(invite.id)
      .catch(error =>
        Notification.error(
          trans.__('Could not revoke the link: %1', describeError(error)),
          { autoClose: 8000 }
        )
      );
  };
  const created = model.created;
  const rows = props.invites
    .slice()
    .sort((a, b) => b.created_at - a.created_at)
    .map(invite => (
      <li
        key={invite.id}
        className="jp-SharedTerm-invite"
        data-invite={invite.id}
        data-state={invite.state}
        title={trans.__(
          'Created %1',
          new Date(invite.created_at * 1000).toLocaleString()
        )}
      >
        <span className="jp-SharedTerm-roleBadge" data-role={invite.role}>
          {roleLabel(invite.role)}
        </span>
        <span className="jp-SharedTerm-meta">
          {`${inviteState(trans, invite)} · ${
            invite.max_uses === null
              ? trans.__('used %1×', invite.uses)
              : trans.__('used %1 of %2', invite.uses, invite.max_uses)
          }`}
        </span>
        {invite.state === 'active' &&
          action(
            trans.__('Revoke'),
            () => revoke(invite),
            'jp-SharedTerm-revoke jp-mod-warn'
          )}
      </li>
    ));
  return (
    <>
      <h3>{trans.__('Invite links')}</h3>
      <div className="jp-SharedTerm-row">
        <HTMLSelect
          className="jp-SharedTerm-inviteRole"
          aria-label={trans.__('Role for the new link')}
          value={role}
          onChange={event => setRole(event.target.value as InviteRole)}
          options={(['viewer', 'coworker'] as InviteRole[]).map(r => ({
            value: r,
            label: roleLabel(r)
          }))}
        />
        {action(trans.__('Create link'), create, 'jp-SharedTerm-createInvite')}
      </div>
      {created !== null && (
        <div className="jp-SharedTerm-inviteResult">
          <div className="jp-SharedTerm-meta">
            {trans.__(
              'A %1 link. Copy it now: it is shown only once.',
              roleLabel(created.role)
            )}
          </div>
          <div className="jp-SharedTerm-row">
            <input
              className="jp-SharedTerm-inviteUrl jp-mod-styled"
              type="text"
              readOnly
              aria-label={trans.__('Invite link')}
              data-role={created.role}
              value={created.url}
              onFocus={event => event.target.select()}
            />
            {action(
              trans.__('Copy'),
              () => {
                Clipboard.copyToSystem(created.url);
                Notification.success(trans.__('Link copied.'), {
                  autoClose: 2000
                });
              },
              'jp-SharedTerm-copyInvite'
            )}
          </div>
        </div>
      )}
      <ul className="jp-SharedTerm-invites">{rows}</ul>
    </>
  );
}

function inviteState(trans: TranslationBundle, invite: IInvite): string {
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

// --- questions ----------------------------------------------------------------------------------

export class QuestionSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-section');
    this.addClass('jp-SharedTerm-questionSection');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null) {
      return null;
    }
    return (
      <Questions
        session={view.session}
        questions={view.state.questions}
        mayAnswer={mayType(view.role) && !view.gone}
        gone={view.gone}
        trans={this.trans}
      />
    );
  }
}

function Questions(props: {
  session: ISharedSession;
  questions: ReadonlyArray<IQuestion>;
  mayAnswer: boolean;
  gone: boolean;
  trans: TranslationBundle;
}): React.ReactElement {
  const { session, trans } = props;
  const [text, setText] = React.useState('');
  const ask = (): void => {
    const question = text.trim();
    if (!question) {
      return;
    }
    try {
      session.ask(question);
      setText('');
    } catch (error) {
      Notification.error(describeError(error), { autoClose: 6000 });
    }
  };
  const answer = (id: string): void => {
    try {
      session.answerQuestion(id);
    } catch (error) {
      Notification.error(describeError(error), { autoClose: 6000 });
    }
  };
  const rows = props.questions.map(q => (
    <li
      key={q.id}
      className="jp-SharedTerm-question"
      data-question={q.id}
      data-answered={String(q.answered)}
    >
      <span className="jp-SharedTerm-questionFrom">{q.name}</span>
      <span className="jp-SharedTerm-questionText">{q.text}</span>
      {q.answered ? (
        <span className="jp-SharedTerm-answered">{trans.__('answered')}</span>
      ) : (
        props.mayAnswer &&
        action(
          trans.__('Mark answered'),
          () => answer(q.id),
          'jp-SharedTerm-markAnswered'
        )
      )}
    </li>
  ));
  return (
    <>
      <h3>{trans.__('Questions')}</h3>
      {listOrEmpty(
        'jp-SharedTerm-questions',
        rows,
        trans.__('No questions yet.')
      )}
      <div className="jp-SharedTerm-row">
        <input
          className="jp-SharedTerm-askInput jp-mod-styled"
          type="text"
          maxLength={MAX_QUESTION_CHARS}
          placeholder={trans.__('Ask the people at the keyboard…')}
          aria-label={trans.__('Your question')}
          disabled={props.gone}
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              event.preventDefault();
              ask();
            }
          }}
        />
        {action(trans.__('Ask'), ask, 'jp-SharedTerm-ask')}
      </div>
    </>
  );
}

// --- ending (owners) ----------------------------------------------------------------------------

export class EndSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-row');
  }

  protected content(view: IView | null): React.ReactElement | null {
    if (view === null || !view.isOwner) {
      return null;
    }
    const trans = this.trans;
    const session = view.session;
    const end = async (): Promise<void> => {
      const result = await showDialog({
        title: trans.__('End "%1" for everyone?', session.state.title),
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
          { autoClose: 8000 }
        );
      }
      void this.model.refreshSessions();
    };
    return action(
      trans.__('End session for everyone'),
      () => void end(),
      'jp-SharedTerm-endSession jp-mod-warn'
    );
  }
}

// --- your sessions ------------------------------------------------------------------------------

export class SessionListSection extends Section {
  constructor(model: PanelModel, trans: TranslationBundle) {
    super(model, trans, 'jp-SharedTerm-section');
    this.addClass('jp-SharedTerm-sessionList');
  }

  protected content(view: IView | null): React.ReactElement {
    const trans = this.trans;
    const model = this.model;
    const sessions = model.sessions;
    let list: React.ReactElement;
    if (typeof sessions === 'string') {
      list = (
        <ul className="jp-SharedTerm-sessions">
          <li className="jp-SharedTerm-error">{sessions}</li>
        </ul>
      );
    } else {
      const rows = (sessions ?? [])
        .slice()
        .sort(
          (a, b) =>
            Number(a.state === 'ended') - Number(b.state === 'ended') ||
            b.created_at - a.created_at
        )
        .map(s => sessionItem(model, trans, s, view?.session.id === s.id));
      list = listOrEmpty('jp-SharedTerm-sessions', rows, trans.__('None yet.'));
    }
    return (
      <>
        <div className="jp-SharedTerm-row jp-SharedTerm-sectionHead">
          <h3>{trans.__('Your shared sessions')}</h3>
          {action(
            trans.__('Refresh'),
            () => void model.refreshSessions(),
            'jp-SharedTerm-refresh'
          )}
        </div>
        {list}
        {startButtons(model, trans)}
      </>
    );
  }
}

function sessionItem(
  model: PanelModel,
  trans: TranslationBundle,
  session: ISessionModel,
  current: boolean
): React.ReactElement {
  const connected = session.participants.filter(p => p.connected).length;
  return (
    <li
      key={session.id}
      className="jp-SharedTerm-sessionItem"
      data-session={session.id}
      data-state={session.state}
    >
      <span className="jp-SharedTerm-sessionTitle">{session.title}</span>
      <span className="jp-SharedTerm-meta">
        {session.state === 'ended'
          ? trans.__('ended')
          : trans.__(
              '%1 · %2 connected',
              roleLabel(session.you.role),
              connected
            )}
      </span>
      {session.state === 'active' &&
        action(
          current ? trans.__('Show') : trans.__('Open'),
          () => void model.actions.open(session.id),
          'jp-SharedTerm-openSession'
        )}
    </li>
  );
}
