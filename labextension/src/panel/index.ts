/**
 * The session panel (right side bar): the current shared session's participants, who is in
 * control and typing, its recording (owners pause and resume it), the owner's controls (roles,
 * removal, invite links, ending), questions, and the list of your shared sessions. A lumino
 * panel of section widgets that all render one `PanelModel`.
 */

import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { usersIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Panel } from '@lumino/widgets';

import { SharedTermClient } from '../client';
import type { ISharedSession } from '../tokens';
import { IPanelActions, PanelModel } from './model';
import {
  EmptySection,
  EndSection,
  InviteSection,
  PeopleSection,
  QuestionSection,
  RecordingSection,
  SessionListSection,
  StatusSection
} from './sections';

export { IPanelActions, PanelModel } from './model';

/** The panel's DOM id (one panel per page): `shell.activateById` shows it. */
export const SESSION_PANEL_ID = 'jp-SharedTerm-sessionPanel';

/** The side panel that follows the shared terminal you last used. */
export class SessionPanel extends Panel {
  constructor(options: SessionPanel.IOptions) {
    super();
    const trans: TranslationBundle = (
      options.translator ?? nullTranslator
    ).load('jupyter_sharedterm');
    this.id = SESSION_PANEL_ID;
    this.addClass('jp-SharedTerm-panel');
    this.title.icon = usersIcon;
    this.title.caption = trans.__('Shared terminal');
    this.model = new PanelModel(options.client, options.actions);
    this.model.stateChanged.connect(this._onChange, this);

    const title = document.createElement('h2');
    title.className = 'jp-SharedTerm-panelTitle';
    title.textContent = trans.__('Shared terminal');
    this.node.append(title);
    for (const Section of [
      EmptySection,
      StatusSection,
      RecordingSection,
      PeopleSection,
      InviteSection,
      QuestionSection,
      EndSection,
      SessionListSection
    ]) {
      this.addWidget(new Section(this.model, trans));
    }
    void this.model.checkDevices();
  }

  /** What the sections render. */
  readonly model: PanelModel;

  /** The session shown, or null. */
  get session(): ISharedSession | null {
    return this.model.session;
  }

  set session(session: ISharedSession | null) {
    this.model.session = session;
  }

  /** Fetch and show the list of your shared sessions. */
  refreshSessions(): Promise<void> {
    return this.model.refreshSessions();
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refreshSessions();
    void this.model.checkDevices();
  }

  private _onChange(): void {
    this.node.dataset.role = this.model.session?.state.role ?? '';
  }
}

export namespace SessionPanel {
  export interface IOptions {
    client: SharedTermClient;
    actions: IPanelActions;
    translator?: ITranslator;
  }
}
