/**
 * Wiring for playback: the Recordings list command, the player tabs, and the `.cast` file type
 * whose files open in the player.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  MainAreaWidget,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  IDocumentWidget
} from '@jupyterlab/docregistry';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminal } from '@jupyterlab/terminal';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { refreshIcon, terminalIcon } from '@jupyterlab/ui-components';

import { IPlayerSource, RecordingPlayer } from './player';
import { RecordingsClient, RecordingsList } from './recordings';
import { ensureStyle } from './style';
import { followTerminalLook } from '../look';

/** Command ids, `sharedterm:verb-noun`. */
export namespace PlayerCommandIDs {
  export const openRecordings = 'sharedterm:open-recordings';
  export const openRecording = 'sharedterm:open-recording';
}

/** The file type and the document widget factory for asciicast files. */
export const CAST_FILE_TYPE = 'asciicast';
export const CAST_FACTORY = 'Terminal Recording Player';

/** The user's terminal settings that also shape the player's terminal. */
const LOOK_OPTIONS: ReadonlyArray<keyof ITerminal.IOptions> = [
  'fontFamily',
  'fontSize',
  'lineHeight',
  'theme',
  'scrollback',
  'screenReaderMode',
  'macOptionIsMeta'
];

const PLAYER_ID_PREFIX = 'jp-SharedTerm-recording-';

type PlayerPanel = MainAreaWidget<RecordingPlayer>;
type CastDocument = IDocumentWidget<RecordingPlayer>;

/** Opens `.cast` files in the player, read through the contents API. */
class CastPlayerFactory extends ABCWidgetFactory<CastDocument> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<CastDocument>,
    private readonly _makePlayer: (source: IPlayerSource) => RecordingPlayer
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): CastDocument {
    let loaded = false;
    const content = this._makePlayer({
      load: async () => {
        await context.ready;
        if (loaded) {
          await context.revert(); // Reload: read the file again
        }
        loaded = true;
        return { text: context.model.toString() };
      }
    });
    const widget = new DocumentWidget({ content, context });
    widget.addClass('jp-SharedTerm-castDocument');
    void content.load();
    return widget;
  }
}

export const playerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-sharedterm:player',
  description:
    'Play recorded terminals and shared sessions (asciicast) inside JupyterLab.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ITranslator,
    ILayoutRestorer,
    ISettingRegistry,
    IThemeManager
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    themeManager: IThemeManager | null
  ): void => {
    ensureStyle();
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_sharedterm');
    const { commands, shell, serviceManager } = app;
    const serverSettings = serviceManager.serverSettings;
    const client = new RecordingsClient(serverSettings);
    const players = new WidgetTracker<PlayerPanel>({
      namespace: 'sharedterm-recording'
    });
    const castDocuments = new WidgetTracker<CastDocument>({
      namespace: 'sharedterm-cast'
    });
    const lists = new WidgetTracker<MainAreaWidget<RecordingsList>>({
      namespace: 'sharedterm-recordings'
    });

    // --- the user's terminal look ------------------------------------------------------------
    const everyPlayer = (apply: (player: RecordingPlayer) => void): void => {
      players.forEach(panel => apply(panel.content));
      castDocuments.forEach(doc => apply(doc.content));
    };
    const look = followTerminalLook(settingRegistry, LOOK_OPTIONS, options =>
      everyPlayer(player => {
        for (const [key, value] of Object.entries(options)) {
          player.setTerminalOption(
            key as keyof ITerminal.IOptions,
            value as never
          );
        }
      })
    );
    const terminalOptions = look.options;
    const settingsReady = look.ready;
    themeManager?.themeChanged.connect(() => {
      if ((terminalOptions.theme ?? 'inherit') === 'inherit') {
        everyPlayer(player => player.setTerminalOption('theme', 'inherit'));
      }
    });

    const makePlayer = (
      source: IPlayerSource,
      ownTitle: boolean
    ): RecordingPlayer =>
      new RecordingPlayer({
        source,
        serverSettings,
        terminalOptions: { ...terminalOptions },
        translator: translator ?? undefined,
        ownTitle
      });

    // --- a recording on the server -------------------------------------------------------------
    const openRecording = async (rid: string): Promise<PlayerPanel> => {
      const id = PLAYER_ID_PREFIX + rid;
      const existing = players.find(panel => panel.id === id);
      if (existing) {
        shell.activateById(existing.id);
        return existing;
      }
      await settingsReady;
      const player = makePlayer(
        {
          load: async () => {
            const [recording, text] = await Promise.all([
              client.get(rid),
              client.cast(rid)
            ]);
            return { recording, text };
          }
        },
        true
      );
      const panel = new MainAreaWidget({ content: player });
      panel.id = id;
      panel.title.icon = terminalIcon;
      panel.addClass('jp-SharedTerm-playerPanel');
      panel.node.dataset.recording = rid;
      shell.add(panel, 'main', { type: 'Terminal recording' });
      await players.add(panel);
      shell.activateById(panel.id);
      void player.load();
      return panel;
    };

    commands.addCommand(PlayerCommandIDs.openRecording, {
      label: trans.__('Play Terminal Recording'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            recording: {
              type: 'string',
              description: 'The id of the recording (the list opens without it)'
            }
          }
        }
      },
      execute: args => {
        const rid = typeof args.recording === 'string' ? args.recording : '';
        return rid
          ? openRecording(rid)
          : commands.execute(PlayerCommandIDs.openRecordings);
      }
    });

    // --- the Recordings list -------------------------------------------------------------------
    commands.addCommand(PlayerCommandIDs.openRecordings, {
      label: trans.__('Open Terminal Recordings'),
      describedBy: { args: { type: 'object', properties: {} } },
      caption: trans.__(
        'Recordings of shared sessions and terminals you may play'
      ),
      execute: async () => {
        const existing = lists.find(() => true);
        if (existing && !existing.isDisposed) {
          shell.activateById(existing.id);
          void existing.content.refresh();
          return existing;
        }
        const list = new RecordingsList({
          client,
          translator: translator ?? undefined
        });
        list.openRequested.connect((_, model) => void openRecording(model.id));
        const panel = new MainAreaWidget({ content: list });
        panel.id = 'jp-SharedTerm-recordingsPanel';
        panel.toolbar.addItem(
          'refresh',
          new ToolbarButton({
            icon: refreshIcon,
            tooltip: trans.__('Refresh the list'),
            onClick: () => void list.refresh()
          })
        );
        shell.add(panel, 'main', { type: 'Terminal recordings' });
        await lists.add(panel);
        shell.activateById(panel.id);
        void list.refresh();
        return panel;
      }
    });

    if (palette) {
      palette.addItem({
        command: PlayerCommandIDs.openRecordings,
        category: trans.__('Shared Terminal')
      });
    }

    // --- .cast files in the file browser -------------------------------------------------------
    app.docRegistry.addFileType({
      name: CAST_FILE_TYPE,
      displayName: trans.__('Terminal recording (asciicast)'),
      extensions: ['.cast'],
      mimeTypes: ['application/x-asciicast'],
      contentType: 'file',
      fileFormat: 'text',
      icon: terminalIcon
    });
    const factory = new CastPlayerFactory(
      {
        name: CAST_FACTORY,
        label: trans.__('Terminal Recording Player'),
        fileTypes: [CAST_FILE_TYPE],
        defaultFor: [CAST_FILE_TYPE],
        readOnly: true,
        translator: translator ?? undefined
      },
      source => makePlayer(source, false)
    );
    factory.widgetCreated.connect((_, widget) => {
      void castDocuments.add(widget);
    });
    app.docRegistry.addWidgetFactory(factory);

    // --- reopen tabs after a reload ------------------------------------------------------------
    if (restorer) {
      void restorer.restore(players, {
        command: PlayerCommandIDs.openRecording,
        args: panel => ({ recording: panel.id.slice(PLAYER_ID_PREFIX.length) }),
        name: panel => panel.id.slice(PLAYER_ID_PREFIX.length)
      });
      void restorer.restore(lists, {
        command: PlayerCommandIDs.openRecordings,
        name: () => 'recordings'
      });
      void restorer.restore(castDocuments, {
        command: 'docmanager:open',
        args: doc => ({ path: doc.context.path, factory: CAST_FACTORY }),
        name: doc => doc.context.path
      });
    }
  }
};

export default playerPlugin;
