/**
 * PlaybackConnection: an `ITerminalConnection` that plays recorded output into JupyterLab's own
 * `Terminal` widget (so the player has the user's terminal theme and font) and goes nowhere:
 * typing, terminal replies and size reports are dropped.
 */

import type {
  ServerConnection,
  Terminal as TerminalAPI
} from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

/** A terminal connection fed by the player instead of a server. */
export class PlaybackConnection implements TerminalAPI.ITerminalConnection {
  constructor(
    readonly name: string,
    readonly serverSettings: ServerConnection.ISettings
  ) {}

  get model(): TerminalAPI.IModel {
    return { name: this.name };
  }

  get messageReceived(): ISignal<this, TerminalAPI.IMessage> {
    return this._messageReceived;
  }

  /** Always connected: there is nothing to connect to. */
  get connectionStatus(): TerminalAPI.ConnectionStatus {
    return 'connected';
  }

  get connectionStatusChanged(): ISignal<this, TerminalAPI.ConnectionStatus> {
    return this._statusChanged;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Show recorded output, as a terminal server's `stdout` message would. */
  write(data: string): void {
    if (!this._isDisposed && data) {
      this._messageReceived.emit({ type: 'stdout', content: [data] });
    }
  }

  /** Input and size reports from the widget: a recording cannot be typed into. */
  send(_message: TerminalAPI.IMessage): void {
    // Dropped on purpose.
  }

  reconnect(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _isDisposed = false;
  private _messageReceived = new Signal<this, TerminalAPI.IMessage>(this);
  private _statusChanged = new Signal<this, TerminalAPI.ConnectionStatus>(this);
  private _disposed = new Signal<this, void>(this);
}
