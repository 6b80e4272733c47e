/**
 * Device sessions over SSH: the device picker, and the owner's login (host key confirmation,
 * password and keyboard-interactive prompts) in dialogs, until the server opens the session.
 *
 * Everything a device or the server says (names, prompts, instructions, messages) is shown as
 * text, never parsed as HTML. Answers live only in the dialog's inputs and in the one request
 * that carries them: the inputs are cleared as soon as they are read or the dialog closes, and
 * nothing is stored (no localStorage, no autofill).
 */

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import {
  DeviceOutcome,
  describeError,
  SharedTermClient,
  SharedTermError
} from './client';
import {
  IAnswersStep,
  IDevice,
  IDeviceInventory,
  IDeviceSessionRequest,
  IHostKeyStep,
  ISessionModel,
  LoginReply,
  LoginStep
} from './protocol';

/** While another request moves a login on, ask again this often (ms). */
const CONNECTING_POLL_MS = 500;

/** A request that takes longer than this (ms) gets a "Connecting…" dialog with Cancel. */
const PROGRESS_DELAY_MS = 400;

/** The picker's value for "another host": never a device name (those start with [A-Za-z0-9]). */
const ADHOC = '*';

/**
 * Ask which device to open (the inventory, and a host form where the server allows other
 * hosts), then log in to it. Resolves with the new session's model, or null if the person
 * cancelled or the login failed (they were told why).
 */
export async function openDeviceSession(
  client: SharedTermClient,
  trans: TranslationBundle,
  device?: string
): Promise<ISessionModel | null> {
  let request: IDeviceSessionRequest | null;
  if (device) {
    request = { transport: 'ssh', device };
  } else {
    let inventory: IDeviceInventory;
    try {
      inventory = await client.listDevices();
    } catch (error) {
      Notification.error(
        trans.__('Could not list the devices: %1', describeError(error)),
        { autoClose: 8000 }
      );
      return null;
    }
    request = await pickDevice(trans, inventory);
  }
  if (request === null) {
    return null;
  }
  return logIn(client, trans, request);
}

/**
 * Drive a device login to its end: start it, then answer each step in a dialog. Resolves
 * with the session model (201), or null when cancelled or refused (the person was told why).
 */
export async function logIn(
  client: SharedTermClient,
  trans: TranslationBundle,
  request: IDeviceSessionRequest
): Promise<ISessionModel | null> {
  const what = 'device' in request ? request.device : request.host;
  let outcome: DeviceOutcome | null;
  try {
    outcome = await connecting(
      client,
      trans,
      what,
      client.startDeviceSession(request)
    );
  } catch (error) {
    await reportFailure(trans, what, error);
    return null;
  }
  while (outcome !== null && outcome.kind === 'login') {
    const step: LoginStep = outcome.step;
    let reply: LoginReply | null;
    if (step.needs === 'host_key') {
      reply = await askHostKey(trans, step);
    } else if (step.needs === 'answers') {
      reply = await askAnswers(trans, step);
    } else {
      // Another request (another tab) is moving this login on: look again shortly.
      await new Promise(resolve => setTimeout(resolve, CONNECTING_POLL_MS));
      try {
        outcome = { kind: 'login', step: await client.getLogin(step.login) };
      } catch (error) {
        await reportFailure(trans, step.device, error);
        return null;
      }
      continue;
    }
    if (reply === null) {
      // Cancelled: close the connection now rather than let it wait for its timeout.
      await client.cancelLogin(step.login).catch(() => undefined);
      return null;
    }
    try {
      outcome = await connecting(
        client,
        trans,
        step.device,
        client.continueLogin(step.login, reply)
      );
    } catch (error) {
      if (error instanceof SharedTermError && error.status === 400) {
        // The login still waits on the same step: say why, and ask again.
        Notification.warning(describeError(error), { autoClose: 8000 });
        continue;
      }
      await reportFailure(trans, step.device, error);
      return null;
    }
  }
  return outcome === null ? null : outcome.model;
}

// --- the picker -------------------------------------------------------------------------------

/** Choose a configured device, or (where allowed) type a host. */
async function pickDevice(
  trans: TranslationBundle,
  inventory: IDeviceInventory
): Promise<IDeviceSessionRequest | null> {
  if (inventory.devices.length === 0 && !inventory.adhoc) {
    await showDialog({
      title: trans.__('No devices'),
      body: trans.__(
        'No SSH devices are configured on this server. An administrator lists them in c.SharedTermApp.devices.'
      ),
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
    return null;
  }
  for (;;) {
    const body = new DevicePicker(trans, inventory);
    const result = await showDialog<IDeviceSessionRequest | string>({
      title: trans.__('New device session'),
      body,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: trans.__('Connect') })
      ],
      focusNodeSelector: 'input[type="radio"]:checked'
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    if (typeof result.value === 'string') {
      // Nothing picked, or the host form is incomplete: say what is missing, ask again.
      Notification.warning(result.value, { autoClose: 6000 });
      continue;
    }
    return result.value;
  }
}

/** The picker's body: one radio per device, then the host form when ad-hoc hosts are allowed. */
class DevicePicker extends Widget {
  constructor(trans: TranslationBundle, inventory: IDeviceInventory) {
    super();
    this._trans = trans;
    this.addClass('jp-SharedTerm-devicePicker');
    const list = el('ul', 'jp-SharedTerm-devices');
    list.setAttribute('role', 'radiogroup');
    list.setAttribute('aria-label', trans.__('Devices'));
    inventory.devices.forEach((device, i) => {
      list.append(
        this._item(device.name, describeDevice(trans, device), i === 0)
      );
    });
    if (inventory.devices.length === 0) {
      list.append(
        el(
          'li',
          'jp-SharedTerm-muted',
          trans.__('No devices are configured on this server.')
        )
      );
    }
    this.node.append(
      el(
        'p',
        'jp-SharedTerm-dialogIntro',
        trans.__(
          'Open a shared terminal on a device. You log in to it yourself; then you can invite people as for any shared terminal.'
        )
      ),
      list
    );
    if (inventory.adhoc) {
      list.append(
        this._item(
          ADHOC,
          trans.__('Another host (password or keyboard-interactive login)'),
          inventory.devices.length === 0
        )
      );
      this._host = input('text', 'jp-SharedTerm-adhocHost', trans.__('Host'));
      this._port = input('number', 'jp-SharedTerm-adhocPort', trans.__('Port'));
      this._port.value = '22';
      this._port.min = '1';
      this._port.max = '65535';
      this._user = input(
        'text',
        'jp-SharedTerm-adhocUser',
        trans.__('User name')
      );
      const form = el('div', 'jp-SharedTerm-adhocForm');
      form.append(
        labelled(trans.__('Host'), this._host),
        labelled(trans.__('Port'), this._port),
        labelled(trans.__('User name'), this._user)
      );
      this.node.append(form);
      // Typing in the form picks "another host".
      form.addEventListener('input', () => {
        const radio = this.node.querySelector<HTMLInputElement>(
          'li[data-adhoc] input[type="radio"]'
        );
        if (radio) {
          radio.checked = true;
        }
      });
    }
  }

  /** The request to send; a string says what is missing from the host form. */
  getValue(): IDeviceSessionRequest | string {
    const picked = this.node.querySelector<HTMLInputElement>(
      'input[type="radio"]:checked'
    );
    if (picked === null) {
      return this._trans.__('Pick a device.');
    }
    if (picked.value !== ADHOC) {
      return { transport: 'ssh', device: picked.value };
    }
    const host = this._host?.value.trim() ?? '';
    const username = this._user?.value.trim() ?? '';
    const port = Number(this._port?.value || '22');
    if (!host || !username) {
      return this._trans.__('Type the host and the user name to log in as.');
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return this._trans.__('The port is a number from 1 to 65535.');
    }
    return { transport: 'ssh', host, port, username };
  }

  private _item(value: string, text: string, checked: boolean): HTMLLIElement {
    const li = el('li', 'jp-SharedTerm-device');
    if (value === ADHOC) {
      li.dataset.adhoc = 'true';
    } else {
      li.dataset.device = value;
    }
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'jp-SharedTerm-device';
    radio.value = value;
    radio.checked = checked;
    const label = document.createElement('label');
    label.append(radio);
    if (value !== ADHOC) {
      label.append(el('span', 'jp-SharedTerm-deviceName', value));
    }
    label.append(el('span', 'jp-SharedTerm-meta', text));
    li.append(label);
    return li;
  }

  private _trans: TranslationBundle;
  private _host: HTMLInputElement | null = null;
  private _port: HTMLInputElement | null = null;
  private _user: HTMLInputElement | null = null;
}

function describeDevice(trans: TranslationBundle, device: IDevice): string {
  const address = `${device.username}@${device.host}${device.port === 22 ? '' : `:${device.port}`}`;
  return device.jump ? trans.__('%1 via %2', address, device.jump) : address;
}

// --- the login steps --------------------------------------------------------------------------

/** Show an unknown host key plainly; resolves with the confirmation, or null to cancel. */
async function askHostKey(
  trans: TranslationBundle,
  step: IHostKeyStep
): Promise<LoginReply | null> {
  const body = new Widget();
  body.addClass('jp-SharedTerm-hostKey');
  const jump = step.target !== step.device;
  body.node.append(
    el(
      'p',
      '',
      jump
        ? trans.__(
            'The jump host %1, on the way to %2, is not a known host yet. Check the key it presented before you trust it:',
            step.target,
            step.device
          )
        : trans.__(
            '%1 is not a known host yet. Check the key it presented before you trust it:',
            step.device
          )
    ),
    facts([
      [jump ? trans.__('Jump host') : trans.__('Device'), step.target, ''],
      [
        trans.__('Address'),
        `${step.host}:${step.port}`,
        'jp-SharedTerm-hostAddress'
      ],
      [trans.__('Fingerprint'), step.fingerprint, 'jp-SharedTerm-fingerprint']
    ]),
    el(
      'p',
      '',
      trans.__(
        'Compare it with the fingerprint the device shows on its own console (for instance: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Trust it only if they are the same: it is then remembered for everyone on this server.'
      )
    ),
    el('p', 'jp-SharedTerm-meta', step.message)
  );
  const result = await showDialog({
    title: trans.__('Trust this host key?'),
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Trust and connect') })
    ],
    // Enter must not trust a key by accident: the default button is Cancel.
    defaultButton: 0
  });
  if (!result.button.accept) {
    return null;
  }
  return { confirm_fingerprint: step.fingerprint };
}

/** Ask the device's questions; resolves with the answers, or null to cancel. */
async function askAnswers(
  trans: TranslationBundle,
  step: IAnswersStep
): Promise<LoginReply | null> {
  const body = new PromptForm(trans, step);
  let title: string;
  if (step.kind === 'password') {
    title = trans.__('Password for %1', step.device);
  } else if (step.kind === 'passphrase') {
    title = trans.__('Key passphrase for %1', step.device);
  } else {
    title = trans.__('Log in to %1', step.device);
  }
  const result = await showDialog<string[]>({
    title,
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Log in') })
    ],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return { answers: result.value };
}

/** The prompts of one step: a password field for each secret, text fields for the others. */
class PromptForm extends Widget {
  constructor(trans: TranslationBundle, step: IAnswersStep) {
    super();
    this.addClass('jp-SharedTerm-promptForm');
    const node = this.node;
    const port = step.port === 22 ? '' : `:${step.port}`;
    node.append(
      el(
        'p',
        'jp-SharedTerm-meta',
        step.target === step.device
          ? trans.__('%1@%2%3 asks:', step.username, step.host, port)
          : trans.__(
              'The jump host %1 (%2@%3%4) asks:',
              step.target,
              step.username,
              step.host,
              port
            )
      )
    );
    if (step.attempt > 1) {
      node.append(
        el(
          'p',
          'jp-SharedTerm-promptRetry',
          trans.__(
            'That was not accepted. Try again (attempt %1).',
            step.attempt
          )
        )
      );
    }
    if (step.name) {
      node.append(el('p', 'jp-SharedTerm-promptName', step.name));
    }
    if (step.instructions) {
      node.append(
        el('p', 'jp-SharedTerm-promptInstructions', step.instructions)
      );
    }
    step.prompts.forEach((prompt, i) => {
      const field = input(
        prompt.echo ? 'text' : 'password',
        'jp-SharedTerm-promptInput',
        prompt.text
      );
      field.dataset.prompt = String(i);
      this._inputs.push(field);
      node.append(labelled(prompt.text, field));
    });
    node.append(
      el(
        'p',
        'jp-SharedTerm-meta',
        trans.__(
          'Your answers go to the device only: they are not stored, recorded or shown to anyone.'
        )
      )
    );
    if (step.expires_at !== null) {
      node.append(
        el(
          'p',
          'jp-SharedTerm-meta',
          trans.__(
            'The device waits until %1.',
            new Date(step.expires_at * 1000).toLocaleTimeString()
          )
        )
      );
    }
  }

  /** The answers, in prompt order; the fields are emptied as they are read. */
  getValue(): string[] {
    const answers = this._inputs.map(field => field.value);
    this._clear();
    return answers;
  }

  override dispose(): void {
    this._clear();
    super.dispose();
  }

  private _clear(): void {
    for (const field of this._inputs) {
      field.value = '';
    }
  }

  private _inputs: HTMLInputElement[] = [];
}

// --- progress and failures --------------------------------------------------------------------

/**
 * Wait for `work` (a device may take seconds to answer); past a moment, behind a "Connecting…"
 * dialog whose Cancel gives up at once. Resolves with the outcome, or null if the person
 * cancelled: what the server answers after that is undone (the login cancelled, or the new
 * session ended), so nothing is left waiting or open that nobody sees.
 */
function connecting(
  client: SharedTermClient,
  trans: TranslationBundle,
  what: string,
  work: Promise<DeviceOutcome>
): Promise<DeviceOutcome | null> {
  return new Promise<DeviceOutcome | null>((resolve, reject) => {
    let over = false;
    let dialog: Dialog<unknown> | null = null;
    const timer = window.setTimeout(() => {
      dialog = new Dialog({
        title: trans.__('Connecting to %1…', what),
        body: trans.__(
          'Waiting for the device to answer. Cancel closes the connection.'
        ),
        buttons: [Dialog.cancelButton()]
      });
      dialog.addClass('jp-SharedTerm-connecting');
      dialog.launch().then(
        () => {
          if (!over) {
            over = true;
            resolve(null);
          }
        },
        () => undefined
      );
    }, PROGRESS_DELAY_MS);
    const finish = (): boolean => {
      window.clearTimeout(timer);
      if (over) {
        return false;
      }
      over = true;
      dialog?.resolve(0);
      return true;
    };
    work.then(
      outcome => {
        if (finish()) {
          resolve(outcome);
        } else if (outcome.kind === 'login') {
          void client.cancelLogin(outcome.step.login).catch(() => undefined);
        } else {
          void client.endSession(outcome.model.id).catch(() => undefined);
        }
      },
      error => {
        if (finish()) {
          reject(error);
        }
      }
    );
  });
}

/**
 * Say why a login ended. A changed host key is a hard failure with nothing to confirm: its
 * dialog has only a Close button.
 */
async function reportFailure(
  trans: TranslationBundle,
  what: string,
  error: unknown
): Promise<void> {
  if (error instanceof SharedTermError && error.status === 409) {
    const body = new Widget();
    body.addClass('jp-SharedTerm-hostKeyChanged');
    body.node.append(el('p', '', error.message));
    await showDialog({
      title: trans.__('The host key of %1 has changed', what),
      body,
      buttons: [Dialog.warnButton({ label: trans.__('Close') })]
    });
    return;
  }
  Notification.error(
    trans.__('Could not connect to %1: %2', what, describeError(error)),
    { autoClose: false }
  );
}

// --- DOM helpers: text only -------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

/** An input no browser should remember or fill in. */
function input(
  type: 'text' | 'password' | 'number',
  className: string,
  label: string
): HTMLInputElement {
  const field = document.createElement('input');
  field.type = type;
  field.className = `jp-mod-styled ${className}`;
  field.setAttribute('aria-label', label);
  field.autocomplete = type === 'password' ? 'new-password' : 'off';
  field.spellcheck = false;
  field.setAttribute('autocapitalize', 'off');
  field.setAttribute('autocorrect', 'off');
  // Password managers that ignore `autocomplete` honour these.
  field.setAttribute('data-lpignore', 'true');
  field.setAttribute('data-1p-ignore', 'true');
  field.setAttribute('data-form-type', 'other');
  return field;
}

/** A two-column list of [term, value, value's class]. */
function facts(rows: Array<[string, string, string]>): HTMLDListElement {
  const list = el('dl', 'jp-SharedTerm-facts');
  for (const [term, value, className] of rows) {
    list.append(el('dt', '', term), el('dd', className, value));
  }
  return list;
}

function labelled(text: string, field: HTMLInputElement): HTMLLabelElement {
  const label = el('label', 'jp-SharedTerm-field');
  label.append(el('span', 'jp-SharedTerm-fieldLabel', text), field);
  return label;
}
