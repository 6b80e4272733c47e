/**
 * Wiring only. Three plugins, joined by the tokens of `tokens.ts` so that other plugins (a
 * Copilot panel, a call view, a widget) can build on shared sessions the same way:
 * - `jupyter-sharedterm:plugin`: commands, the Share button on every terminal, the shared
 *   terminal tabs; provides `ISharedSessionTracker`.
 * - `jupyter-sharedterm:current-session`: provides `ICurrentSharedSession`.
 * - `jupyter-sharedterm:session-panel`: the session panel, following the current session.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  IThemeManager,
  MainAreaWidget,
  Notification,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminal, ITerminalTracker } from '@jupyterlab/terminal';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { shareIcon, usersIcon } from '@jupyterlab/ui-components';

import { describeError, SharedTermClient } from './client';
import { followTerminalLook } from './look';
import { openDeviceSession } from './devices';
import { CurrentSharedSession } from './current';
import { roleLabel, SharedSession } from './model';
import { SESSION_PANEL_ID, SessionPanel } from './panel';
import { ISessionModel, parseJoinLink } from './protocol';
import { playerPlugin } from './player';
import { SharedTerminalPanel } from './terminal';
import { ICurrentSharedSession, ISharedSessionTracker } from './tokens';

export * from './tokens';

/** Command ids, `sharedterm:verb-noun`. */
export namespace CommandIDs {
  export const shareTerminal = 'sharedterm:share-terminal';
  export const newSession = 'sharedterm:new-session';
  export const newDeviceSession = 'sharedterm:new-device-session';
  export const joinSession = 'sharedterm:join-session';
  export const openSession = 'sharedterm:open-session';
  export const showPanel = 'sharedterm:show-panel';
}

/** A stock terminal panel as ITerminalTracker tracks it. */
type TerminalPanel = MainAreaWidget<ITerminal.ITerminal>;

/** The stock terminal settings that also apply to shared terminals. */
const SHARED_OPTIONS: ReadonlyArray<keyof ITerminal.IOptions> = [
  'fontFamily',
  'fontSize',
  'lineHeight',
  'theme',
  'scrollback',
  'screenReaderMode',
  'pasteWithCtrlV',
  'macOptionIsMeta',
  'cursorBlink',
  'autoFit'
];

/** The name of the server-side terminal behind a stock panel, if it has one. */
function terminalName(panel: TerminalPanel | null): string | null {
  const session = panel?.content.session;
  return session && !session.isDisposed ? session.name : null;
}

/** Arguments of a command that takes none. */
const NO_ARGS = { args: { type: 'object', properties: {} } } as const;

/** A command's one optional string argument. */
function oneArg(name: string, description: string) {
  return {
    args: {
      type: 'object',
      properties: { [name]: { type: 'string', description } }
    }
  } as const;
}

const plugin: JupyterFrontEndPlugin<ISharedSessionTracker> = {
  id: 'jupyter-sharedterm:plugin',
  description: 'Share a live terminal with roles the server enforces.',
  autoStart: true,
  provides: ISharedSessionTracker,
  requires: [ITerminalTracker],
  optional: [
    ICommandPalette,
    ITranslator,
    ILayoutRestorer,
    ISettingRegistry,
    IThemeManager
  ],
  activate: (
    app: JupyterFrontEnd,
    terminals: ITerminalTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    themeManager: IThemeManager | null
  ): ISharedSessionTracker => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_sharedterm');
    const { commands, shell } = app;
    const client = new SharedTermClient(app.serviceManager.serverSettings);
    const tracker = new WidgetTracker<SharedTerminalPanel>({
      namespace: 'sharedterm'
    });

    // --- terminal settings: shared terminals look like the user's other terminals -----------
    const look = followTerminalLook(settingRegistry, SHARED_OPTIONS, options =>
      tracker.forEach(widget => {
        for (const [key, value] of Object.entries(options)) {
          widget.content.setOption(
            key as keyof ITerminal.IOptions,
            value as never
          );
        }
      })
    );
    const terminalOptions = look.options;
    const settingsReady = look.ready;
    themeManager?.themeChanged.connect(() => {
      tracker.forEach(widget => {
        if (widget.content.getOption('theme') === 'inherit') {
          widget.content.setOption('theme', 'inherit');
        }
      });
    });

    const showPanel = (): void => {
      shell.activateById(SESSION_PANEL_ID);
    };

    /** Open (or show) the shared terminal of a session, optionally next to `ref`. */
    const openSession = async (
      sid: string,
      options: { model?: ISessionModel; ref?: string } = {}
    ): Promise<SharedTerminalPanel> => {
      const existing = tracker.find(widget => widget.session.id === sid);
      if (existing) {
        shell.activateById(existing.id);
        return existing;
      }
      await settingsReady;
      const session = new SharedSession({
        sessionId: sid,
        client,
        model: options.model
      });
      const widget = new SharedTerminalPanel({
        session,
        terminalOptions: { ...terminalOptions },
        translator: translator ?? undefined,
        onShowPanel: showPanel
      });
      shell.add(widget, 'main', {
        ref: options.ref,
        mode: options.ref ? 'tab-after' : undefined,
        type: 'Shared terminal'
      });
      await tracker.add(widget);
      shell.activateById(widget.id);
      return widget;
    };

    // --- sharing a stock terminal --------------------------------------------------------------
    const share = async (stock: TerminalPanel | null): Promise<void> => {
      const name = terminalName(stock);
      if (stock === null || name === null) {
        Notification.warning(trans.__('Open a terminal to share first.'), {
          autoClose: 5000
        });
        return;
      }
      let model: ISessionModel;
      try {
        model = await client.createSession({ terminal: name });
      } catch (error) {
        Notification.error(
          trans.__(
            'Could not share terminal %1: %2',
            name,
            describeError(error)
          ),
          { autoClose: false }
        );
        return;
      }
      // The server has taken the terminal over and closed its stock socket: the shared tab
      // takes the stock tab's place. The shell goes on; only this view of it is closed.
      await openSession(model.id, { model, ref: stock.id });
      if (!stock.content.session.isDisposed) {
        stock.content.session.dispose();
      }
      if (!stock.isDisposed) {
        stock.dispose();
      }
      showPanel();
      Notification.success(
        trans.__(
          'Terminal %1 is shared. Invite people from the session panel.',
          name
        ),
        { autoClose: 5000 }
      );
    };

    /** The stock terminal a context-menu click landed on, else the current one. */
    const targetTerminal = (): TerminalPanel | null => {
      const node = app.contextMenuHitTest(n =>
        n.classList.contains('jp-Terminal')
      );
      if (node) {
        // A shared terminal is not a stock one: nothing to share there.
        return terminals.find(p => p.content.node.contains(node)) ?? null;
      }
      return terminals.currentWidget;
    };

    // --- commands ------------------------------------------------------------------------------
    commands.addCommand(CommandIDs.shareTerminal, {
      describedBy: NO_ARGS,
      label: trans.__('Share Terminal'),
      caption: trans.__('Share this terminal with other people'),
      icon: shareIcon,
      isEnabled: () => terminalName(targetTerminal()) !== null,
      execute: () => share(targetTerminal())
    });

    commands.addCommand(CommandIDs.newSession, {
      describedBy: NO_ARGS,
      label: trans.__('New Shared Shell'),
      caption: trans.__('Start a new shell that you can share'),
      icon: usersIcon,
      execute: async () => {
        try {
          const model = await client.createSession({ transport: 'local' });
          const widget = await openSession(model.id, { model });
          showPanel();
          return widget;
        } catch (error) {
          Notification.error(
            trans.__(
              'Could not start a shared shell: %1',
              describeError(error)
            ),
            { autoClose: false }
          );
          return null;
        }
      }
    });

    commands.addCommand(CommandIDs.newDeviceSession, {
      describedBy: oneArg(
        'device',
        'A configured device to log in to, by name'
      ),
      label: trans.__('New Device Session…'),
      caption: trans.__(
        'Log in to an SSH device and share its terminal (pick from the devices this server knows)'
      ),
      icon: usersIcon,
      execute: async args => {
        const device =
          typeof args.device === 'string' ? args.device : undefined;
        const model = await openDeviceSession(client, trans, device);
        if (model === null) {
          return null;
        }
        const widget = await openSession(model.id, { model });
        showPanel();
        Notification.success(
          trans.__(
            'Connected to %1. Invite people from the session panel.',
            model.title
          ),
          { autoClose: 5000 }
        );
        return widget;
      }
    });

    commands.addCommand(CommandIDs.joinSession, {
      describedBy: oneArg('link', 'The invite link (asked for when absent)'),
      label: trans.__('Join Shared Session…'),
      caption: trans.__('Join a shared terminal with an invite link'),
      execute: async args => {
        let link = typeof args.link === 'string' ? args.link : '';
        if (!link) {
          const result = await InputDialog.getText({
            title: trans.__('Join a shared terminal'),
            label: trans.__('Paste the invite link you were sent:'),
            placeholder: trans.__('https://…/sharedterm/join/…#…'),
            okLabel: trans.__('Join')
          });
          if (!result.button.accept || !result.value) {
            return null;
          }
          link = result.value;
        }
        const parsed = parseJoinLink(link);
        if (parsed === null) {
          Notification.error(
            trans.__(
              'That is not an invite link. It looks like …/sharedterm/join/ID#SECRET; ask the owner for a new one.'
            ),
            { autoClose: 8000 }
          );
          return null;
        }
        try {
          const reply = await client.join(parsed.invite, parsed.secret);
          const widget = await openSession(reply.session);
          showPanel();
          Notification.success(
            trans.__('You joined as %1.', roleLabel(reply.role)),
            {
              autoClose: 4000
            }
          );
          return widget;
        } catch (error) {
          Notification.error(
            trans.__('Could not join: %1', describeError(error)),
            {
              autoClose: false
            }
          );
          return null;
        }
      }
    });

    commands.addCommand(CommandIDs.openSession, {
      describedBy: oneArg(
        'session',
        'The id of a shared session you take part in'
      ),
      label: args =>
        typeof args.session === 'string'
          ? trans.__('Open Shared Session %1', args.session)
          : trans.__('Open Shared Session'),
      execute: async args => {
        const sid = typeof args.session === 'string' ? args.session : '';
        if (!sid) {
          showPanel();
          return null;
        }
        if (!tracker.find(widget => widget.session.id === sid)) {
          // Only active sessions you are still part of are (re)opened, e.g. after a reload.
          try {
            const model = await client.getSession(sid);
            if (model.state !== 'active') {
              return null;
            }
            return openSession(sid, { model });
          } catch {
            return null;
          }
        }
        return openSession(sid);
      }
    });

    commands.addCommand(CommandIDs.showPanel, {
      describedBy: NO_ARGS,
      label: trans.__('Show Shared Session Panel'),
      icon: usersIcon,
      execute: showPanel
    });

    if (palette) {
      const category = trans.__('Shared Terminal');
      for (const command of [
        CommandIDs.shareTerminal,
        CommandIDs.newSession,
        CommandIDs.newDeviceSession,
        CommandIDs.joinSession,
        CommandIDs.showPanel
      ]) {
        palette.addItem({ command, category });
      }
    }
    app.contextMenu.addItem({
      command: CommandIDs.shareTerminal,
      selector: '.jp-Terminal:not(.jp-SharedTerm-terminalPanel .jp-Terminal)',
      rank: 50
    });

    restorer
      ?.restore(tracker, {
        command: CommandIDs.openSession,
        args: widget => ({ session: widget.session.id }),
        name: widget => widget.session.id
      })
      .catch(reason =>
        console.warn('jupyter-sharedterm: restore failed', reason)
      );

    // --- the Share button on every stock terminal ----------------------------------------------
    const addButton = (stock: TerminalPanel): void => {
      const button = new ToolbarButton({
        className: 'jp-SharedTerm-shareButton',
        icon: shareIcon,
        label: trans.__('Share'),
        tooltip: trans.__('Share this terminal with other people'),
        onClick: () => void share(stock)
      });
      stock.toolbar.addItem('sharedterm-share', button);
    };
    terminals.forEach(addButton);
    terminals.widgetAdded.connect((_, stock) => addButton(stock));
    return tracker;
  }
};

const currentSessionPlugin: JupyterFrontEndPlugin<ICurrentSharedSession> = {
  id: 'jupyter-sharedterm:current-session',
  description:
    'The shared session the user works with now, and its live state.',
  autoStart: true,
  provides: ICurrentSharedSession,
  requires: [ISharedSessionTracker],
  activate: (
    _app: JupyterFrontEnd,
    tracker: ISharedSessionTracker
  ): ICurrentSharedSession => new CurrentSharedSession(tracker)
};

const sessionPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-sharedterm:session-panel',
  description:
    'The side panel of the current shared session: people, roles, links, questions.',
  autoStart: true,
  requires: [ICurrentSharedSession, ISharedSessionTracker],
  optional: [ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    current: ICurrentSharedSession,
    tracker: ISharedSessionTracker,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const { commands, shell } = app;
    const panel = new SessionPanel({
      client: new SharedTermClient(app.serviceManager.serverSettings),
      translator: translator ?? nullTranslator,
      actions: {
        open: sid => commands.execute(CommandIDs.openSession, { session: sid }),
        newSession: () => commands.execute(CommandIDs.newSession),
        newDeviceSession: () => commands.execute(CommandIDs.newDeviceSession),
        join: () => commands.execute(CommandIDs.joinSession)
      }
    });
    shell.add(panel, 'right', { rank: 650, type: 'Shared terminal' });
    restorer?.add(panel, 'sharedterm-panel');
    panel.session = current.session;
    current.sessionChanged.connect((_, session) => {
      panel.session = session;
    });
    // A closed tab may have been the last view of an ended session: the list changes.
    tracker.widgetAdded.connect((_, widget) => {
      widget.disposed.connect(() => void panel.refreshSessions());
    });
  }
};

export default [plugin, currentSessionPlugin, sessionPanelPlugin, playerPlugin];
