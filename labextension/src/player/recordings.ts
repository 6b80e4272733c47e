/**
 * The recordings routes (`api/sharedterm/recordings`) and the Recordings list: every recording
 * the user may open, newest first, each with Open and Download.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { describeError, SharedTermError } from '../client';
import { formatTime } from './cast';

export const RECORDINGS_ROUTE = 'api/sharedterm/recordings';

/** What is recorded: a shared session, or a JupyterLab terminal of its own. */
export type RecordingKind = 'session' | 'terminal';

export type RecordingState =
  | 'recording'
  | 'paused'
  | 'finished'
  | 'interrupted';

/** A recording as `GET api/sharedterm/recordings[/RID]` describes it (server field names). */
export interface IRecordingModel {
  id: string;
  kind: RecordingKind;
  session_id: string;
  terminal: string | null;
  title: string | null;
  started: number;
  ended: number | null;
  state: RecordingState;
  width: number;
  height: number;
  input_captured?: boolean;
  events_lost: number;
  end_reason: string | null;
}

/** Reads recordings as the signed-in user. */
export class RecordingsClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** Recordings the user may open, in the server's order. */
  async list(): Promise<IRecordingModel[]> {
    const list = await this._json<unknown>(this.url());
    return Array.isArray(list)
      ? (list.filter(isRecording) as IRecordingModel[])
      : [];
  }

  async get(rid: string): Promise<IRecordingModel> {
    const model = await this._json<unknown>(this.url(rid));
    if (!isRecording(model)) {
      throw new SharedTermError(
        500,
        'The server described the recording in an unknown way.'
      );
    }
    return model;
  }

  /** The asciicast file's text. */
  async cast(rid: string): Promise<string> {
    const response = await this._fetch(this.castUrl(rid));
    return response.text();
  }

  /** Where the asciicast file downloads from (the signed-in browser's cookie is enough). */
  castUrl(rid: string): string {
    return URLExt.join(this.url(rid), 'cast');
  }

  url(rid?: string): string {
    const base = URLExt.join(this.serverSettings.baseUrl, RECORDINGS_ROUTE);
    return rid === undefined
      ? base
      : URLExt.join(base, encodeURIComponent(rid));
  }

  private async _json<T>(url: string): Promise<T> {
    const response = await this._fetch(url);
    return (await response.json()) as T;
  }

  private async _fetch(url: string): Promise<Response> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        {},
        this.serverSettings
      );
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`.trim();
      try {
        const body = (await response.json()) as { message?: unknown };
        if (typeof body.message === 'string' && body.message) {
          message = body.message;
        }
      } catch {
        // Not JSON: keep the status line.
      }
      throw new SharedTermError(response.status, message);
    }
    return response;
  }
}

function isRecording(value: unknown): value is IRecordingModel {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const model = value as Record<string, unknown>;
  return (
    typeof model.id === 'string' &&
    (model.kind === 'session' || model.kind === 'terminal') &&
    typeof model.started === 'number' &&
    typeof model.state === 'string'
  );
}

/** People's words for a recording's kind, state and name. */
export namespace Describe {
  export function kind(trans: TranslationBundle, kind: RecordingKind): string {
    return kind === 'session'
      ? trans.__('Shared session')
      : trans.__('Terminal');
  }

  export function state(
    trans: TranslationBundle,
    state: RecordingState
  ): string {
    switch (state) {
      case 'recording':
        return trans.__('Recording');
      case 'paused':
        return trans.__('Paused');
      case 'finished':
        return trans.__('Finished');
      case 'interrupted':
        return trans.__('Interrupted');
      default:
        return String(state);
    }
  }

  export function title(
    trans: TranslationBundle,
    model: IRecordingModel
  ): string {
    if (model.title) {
      return model.title;
    }
    return model.terminal
      ? trans.__('Terminal %1', model.terminal)
      : trans.__('Session %1', model.session_id.slice(0, 8));
  }

  export function started(model: IRecordingModel): string {
    return new Date(model.started * 1000).toLocaleString();
  }

  /** The title and when it started, to tell recordings with one title apart (tab labels). */
  export function label(
    trans: TranslationBundle,
    model: IRecordingModel
  ): string {
    const started = new Date(model.started * 1000);
    const today = started.toDateString() === new Date().toDateString();
    return trans.__(
      '%1, %2',
      title(trans, model),
      today ? started.toLocaleTimeString() : started.toLocaleString()
    );
  }

  /** How it ended, as a sentence ("The shell exited with status 3."), or null while going. */
  export function ended(model: IRecordingModel): string | null {
    const reason = model.end_reason?.trim();
    if (!reason) {
      return null;
    }
    const sentence = reason.charAt(0).toUpperCase() + reason.slice(1);
    return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
  }

  /** "1:05", or "" while it is still going. */
  export function length(model: IRecordingModel): string {
    return model.ended === null ? '' : formatTime(model.ended - model.started);
  }
}

/** The Recordings list. */
export class RecordingsList extends Widget {
  constructor(options: RecordingsList.IOptions) {
    super();
    this._client = options.client;
    this._trans = (options.translator ?? nullTranslator).load(
      'jupyter_sharedterm'
    );
    this.addClass('jp-SharedTerm-recordings');
    this.id = 'jp-SharedTerm-recordings';
    this.title.label = this._trans.__('Recordings');
    this.title.closable = true;

    const trans = this._trans;
    const intro = document.createElement('p');
    intro.className = 'jp-SharedTerm-recordingsIntro';
    intro.textContent = trans.__(
      'Recordings of shared sessions you took part in and of terminals on this server, newest first.'
    );
    this._status = document.createElement('p');
    this._status.className = 'jp-SharedTerm-recordingsStatus';
    this._status.setAttribute('role', 'status');
    this._table = document.createElement('table');
    this._table.className = 'jp-SharedTerm-recordingsTable';
    const head = this._table.createTHead().insertRow();
    for (const label of [
      trans.__('Kind'),
      trans.__('Title'),
      trans.__('Started'),
      trans.__('Length'),
      trans.__('State'),
      trans.__('Actions')
    ]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.appendChild(th);
    }
    this._body = this._table.createTBody();
    this.node.append(intro, this._status, this._table);
  }

  /** Emitted with the recording whose Open button was pressed. */
  get openRequested(): ISignal<this, IRecordingModel> {
    return this._openRequested;
  }

  /** Fetch the list again. */
  async refresh(): Promise<void> {
    const trans = this._trans;
    this.node.dataset.state = 'loading';
    this._status.textContent = trans.__('Loading recordings…');
    let models: IRecordingModel[];
    try {
      models = await this._client.list();
    } catch (error) {
      this.node.dataset.state = 'error';
      this._status.textContent = trans.__(
        'Could not list recordings: %1',
        describeError(error)
      );
      return;
    }
    if (this.isDisposed) {
      return;
    }
    models.sort((a, b) => b.started - a.started);
    this._body.replaceChildren(...models.map(model => this._row(model)));
    this._table.hidden = models.length === 0;
    this._status.textContent = models.length
      ? trans._n('%1 recording', '%1 recordings', models.length, models.length)
      : trans.__(
          'No recordings yet. Shared sessions and terminals are recorded while the server has recording turned on.'
        );
    this.node.dataset.state = 'ready';
  }

  protected override onAfterShow(): void {
    void this.refresh();
  }

  private _row(model: IRecordingModel): HTMLTableRowElement {
    const trans = this._trans;
    const row = document.createElement('tr');
    row.className = 'jp-SharedTerm-recording';
    row.dataset.recording = model.id;
    row.dataset.session = model.session_id;
    row.dataset.kind = model.kind;
    row.dataset.state = model.state;
    const cell = (className: string, text: string): HTMLTableCellElement => {
      const td = row.insertCell();
      td.className = className;
      td.textContent = text;
      return td;
    };
    cell('jp-SharedTerm-recordingKind', Describe.kind(trans, model.kind));
    cell('jp-SharedTerm-recordingTitle', Describe.title(trans, model));
    cell('jp-SharedTerm-recordingStarted', Describe.started(model));
    cell('jp-SharedTerm-recordingLength', Describe.length(model));
    const state = cell(
      'jp-SharedTerm-recordingState',
      Describe.state(trans, model.state)
    );
    const notes: string[] = [];
    const ended = Describe.ended(model);
    if (ended) {
      notes.push(ended);
    }
    if (model.events_lost > 0) {
      notes.push(
        trans._n(
          '%1 event lost',
          '%1 events lost',
          model.events_lost,
          model.events_lost
        )
      );
    }
    if (notes.length) {
      const note = document.createElement('div');
      note.className = 'jp-SharedTerm-recordingNote';
      note.textContent = notes.join(' · ');
      state.appendChild(note);
    }

    const actions = row.insertCell();
    actions.className = 'jp-SharedTerm-recordingActions';
    const open = document.createElement('button');
    open.type = 'button';
    open.className =
      'jp-Button jp-mod-styled jp-mod-accept jp-SharedTerm-openRecording';
    open.textContent = trans.__('Open');
    open.title = trans.__('Play this recording here');
    open.addEventListener('click', () => this._openRequested.emit(model));
    const download = document.createElement('a');
    download.className = 'jp-SharedTerm-downloadRecording';
    download.href = this._client.castUrl(model.id);
    download.download = `sharedterm-${model.id}.cast`;
    download.textContent = trans.__('Download');
    download.title = trans.__(
      'Save the asciicast file (plays in asciinema too)'
    );
    actions.append(open, download);
    return row;
  }

  private _client: RecordingsClient;
  private _trans: TranslationBundle;
  private _status: HTMLParagraphElement;
  private _table: HTMLTableElement;
  private _body: HTMLTableSectionElement;
  private _openRequested = new Signal<this, IRecordingModel>(this);
}

export namespace RecordingsList {
  export interface IOptions {
    client: RecordingsClient;
    translator?: ITranslator;
  }
}
