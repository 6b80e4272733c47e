/**
 * Wiring only: the JupyterLab plugin that adds "Share" to every terminal.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITerminal, ITerminalTracker } from '@jupyterlab/terminal';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

/** Command ids, `sharedterm:verb-noun`. */
export namespace CommandIDs {
  export const shareTerminal = 'sharedterm:share-terminal';
}

/** The REST route that creates a shared session, relative to the server's base URL. */
const SESSIONS_PATH = 'api/sharedterm/sessions';

/** A terminal panel as ITerminalTracker tracks it. */
type TerminalPanel = MainAreaWidget<ITerminal.ITerminal>;

/** What the server answers to a successful share (fields the UI reads; the rest is ignored). */
interface ISessionReply {
  id?: string;
}

/**
 * Ask the server to share an open JupyterLab terminal.
 *
 * Returns the created session. Throws an Error whose message is the server's
 * own `{"message": ...}` when the request is refused.
 */
async function shareTerminal(
  settings: ServerConnection.ISettings,
  terminal: string
): Promise<ISessionReply> {
  const url = URLExt.join(settings.baseUrl, SESSIONS_PATH);
  const init: RequestInit = {
    method: 'POST',
    body: JSON.stringify({ terminal })
  };
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      body !== null &&
      typeof body === 'object' &&
      typeof (body as { message?: unknown }).message === 'string' &&
      (body as { message: string }).message
        ? (body as { message: string }).message
        : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body !== null && typeof body === 'object' ? (body as ISessionReply) : {};
}

/** The name of the server-side terminal behind a panel, if it has one. */
function terminalName(panel: TerminalPanel | null): string | null {
  const session = panel?.content.session;
  return session && !session.isDisposed ? session.name : null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-sharedterm:plugin',
  description: 'Share a live terminal with roles the server enforces.',
  autoStart: true,
  requires: [ITerminalTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: ITerminalTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_sharedterm');
    const settings = app.serviceManager.serverSettings;

    const share = async (panel: TerminalPanel | null): Promise<void> => {
      const name = terminalName(panel);
      if (name === null) {
        Notification.warning(trans.__('Open a terminal to share first.'), {
          autoClose: 5000
        });
        return;
      }
      try {
        const session = await shareTerminal(settings, name);
        const message = session.id
          ? trans.__('Terminal %1 is shared (session %2).', name, session.id)
          : trans.__('Terminal %1 is shared.', name);
        Notification.success(message, { autoClose: 5000 });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        Notification.error(
          trans.__('Could not share terminal %1: %2', name, reason),
          { autoClose: false }
        );
      }
    };

    /** The terminal a context-menu click landed on, else the current one. */
    const targetPanel = (): TerminalPanel | null => {
      const node = app.contextMenuHitTest(n => n.classList.contains('jp-Terminal'));
      if (node) {
        const hit = tracker.find(panel => panel.content.node.contains(node));
        if (hit) {
          return hit;
        }
      }
      return tracker.currentWidget;
    };

    app.commands.addCommand(CommandIDs.shareTerminal, {
      label: trans.__('Share Terminal'),
      caption: trans.__('Share this terminal with other people'),
      isEnabled: () => terminalName(targetPanel()) !== null,
      execute: () => share(targetPanel())
    });

    palette?.addItem({
      command: CommandIDs.shareTerminal,
      category: trans.__('Terminal')
    });
    app.contextMenu.addItem({
      command: CommandIDs.shareTerminal,
      selector: '.jp-Terminal',
      rank: 50
    });

    const addButton = (panel: TerminalPanel): void => {
      const button = new ToolbarButton({
        className: 'jp-SharedTerm-shareButton',
        label: trans.__('Share'),
        tooltip: trans.__('Share this terminal with other people'),
        onClick: () => void share(panel)
      });
      panel.toolbar.addItem('sharedterm-share', button);
    };
    tracker.forEach(addButton);
    tracker.widgetAdded.connect((_, panel) => addButton(panel));
  }
};

export default plugin;
