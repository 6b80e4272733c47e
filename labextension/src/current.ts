/**
 * CurrentSharedSession: which shared session the user works with now (the one the session
 * panel follows): the last shared terminal tab focused or opened, until it closes.
 */

import { ISignal, Signal } from '@lumino/signaling';

import type {
  ICurrentSharedSession,
  ISharedSession,
  ISharedSessionTracker
} from './tokens';

export class CurrentSharedSession implements ICurrentSharedSession {
  constructor(tracker: ISharedSessionTracker) {
    this._session = tracker.currentWidget?.session ?? null;
    tracker.currentChanged.connect(
      (_, widget) => this._set(widget?.session ?? null),
      this
    );
    tracker.widgetAdded.connect((_, widget) => {
      // A tab just opened is the one the user wants to see, even before it has focus.
      this._set(widget.session);
      widget.disposed.connect(() => {
        if (this._session === widget.session) {
          this._set(tracker.currentWidget?.session ?? null);
        }
      }, this);
    }, this);
  }

  get session(): ISharedSession | null {
    return this._session;
  }

  get sessionChanged(): ISignal<this, ISharedSession | null> {
    return this._sessionChanged;
  }

  private _set(session: ISharedSession | null): void {
    if (session !== this._session) {
      this._session = session;
      this._sessionChanged.emit(session);
    }
  }

  private _session: ISharedSession | null;
  private _sessionChanged = new Signal<this, ISharedSession | null>(this);
}
