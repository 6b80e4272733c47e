// The user's JupyterLab terminal settings, followed live, so our terminals (shared ones and the
// recording player) look like their other terminals.

import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminal } from '@jupyterlab/terminal';

const TERMINAL_SETTINGS = '@jupyterlab/terminal-extension:plugin';

/** The terminal settings as last read, and when they were first read. */
export interface ITerminalLook {
  readonly options: Partial<ITerminal.IOptions>;
  readonly ready: Promise<void>;
}

/**
 * Read `keys` of the user's terminal settings into `options`, now and on every change, and
 * call `changed` after each read. Without a setting registry the options stay empty.
 */
export function followTerminalLook(
  registry: ISettingRegistry | null,
  keys: ReadonlyArray<keyof ITerminal.IOptions>,
  changed: (options: Partial<ITerminal.IOptions>) => void
): ITerminalLook {
  const options: Partial<ITerminal.IOptions> = {};
  const ready: Promise<void> = registry
    ? registry
        .load(TERMINAL_SETTINGS)
        .then(settings => {
          const read = (): void => {
            for (const key of keys) {
              const value = settings.composite[key];
              if (value !== undefined && value !== null) {
                (options as Record<string, unknown>)[key] = value;
              }
            }
            changed(options);
          };
          read();
          settings.changed.connect(read);
        })
        .catch(reason => {
          console.warn(
            'jupyter-sharedterm: terminal settings unavailable',
            reason
          );
        })
    : Promise.resolve();
  return { options, ready };
}
