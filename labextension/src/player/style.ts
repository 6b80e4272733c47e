/**
 * The player's and the Recordings list's styles, added to the page once. Only JupyterLab CSS
 * variables, so light, dark and high-contrast themes all work.
 */

const STYLE_ID = 'jp-SharedTerm-player-style';

const CSS = `
.jp-SharedTerm-player {
  display: flex;
  flex-direction: column;
  height: 100%;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
}
.jp-SharedTerm-player [hidden] { display: none !important; }
.jp-SharedTerm-playerInfo {
  flex: 0 0 auto;
  padding: 6px 12px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}
.jp-SharedTerm-playerTitle {
  font-size: var(--jp-ui-font-size2);
  font-weight: 600;
  color: var(--jp-ui-font-color0);
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}
.jp-SharedTerm-playerDetails { color: var(--jp-ui-font-color2); margin-top: 2px; }
.jp-SharedTerm-playerNotes { margin: 4px 0 0; padding-left: 18px; color: var(--jp-warn-color0); }
.jp-SharedTerm-playerNotes:empty { display: none; }
.jp-SharedTerm-playerError {
  margin-top: 8px;
  padding: 8px 12px;
  border: var(--jp-border-width) solid var(--jp-error-color1);
  border-radius: 3px;
  background: var(--jp-error-color3);
  color: var(--jp-ui-font-color0);
  white-space: pre-wrap;
}
.jp-SharedTerm-playerBody {
  flex: 1 1 auto;
  display: flex;
  flex-direction: row;
  min-height: 0;
}
.jp-SharedTerm-playerStage {
  flex: 1 1 auto;
  min-width: 0;
  overflow: auto;
  padding: 8px;
  background: var(--jp-layout-color2);
}
.jp-SharedTerm-playerStage > .jp-SharedTerm-playerTerminal {
  width: max-content;
  height: auto;
  overflow: visible;
  box-shadow: var(--jp-elevation-z2);
}
.jp-SharedTerm-playerMarkers {
  flex: 0 0 260px;
  overflow: auto;
  border-left: var(--jp-border-width) solid var(--jp-border-color2);
  padding: 6px 8px;
}
/* Beside the terminal the list would squeeze the recorded grid: it goes under it instead. */
.jp-SharedTerm-playerBody.jp-mod-stacked { flex-direction: column; }
.jp-SharedTerm-playerBody.jp-mod-stacked > .jp-SharedTerm-playerStage { min-height: 0; }
.jp-SharedTerm-playerBody.jp-mod-stacked > .jp-SharedTerm-playerMarkers {
  flex: 0 1 auto;
  max-height: 35%;
  border-left: none;
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
}
.jp-SharedTerm-playerMarkers h3 {
  margin: 2px 0 6px;
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  text-transform: uppercase;
  letter-spacing: 0.04em;
  color: var(--jp-ui-font-color2);
}
.jp-SharedTerm-playerMarkerList { list-style: none; margin: 0; padding: 0; }
.jp-SharedTerm-playerNoMarkers { color: var(--jp-ui-font-color2); }
.jp-SharedTerm-playerMarker {
  display: flex;
  gap: 8px;
  width: 100%;
  padding: 4px 6px;
  border: none;
  border-radius: 3px;
  background: transparent;
  color: var(--jp-ui-font-color1);
  font: inherit;
  text-align: left;
  cursor: pointer;
}
.jp-SharedTerm-playerMarker:hover { background: var(--jp-layout-color2); }
.jp-SharedTerm-playerMarker[aria-current='true'] {
  background: var(--jp-brand-color3);
  color: var(--jp-ui-font-color0);
}
.jp-SharedTerm-playerMarker:focus-visible {
  outline: var(--jp-border-width) solid var(--jp-brand-color1);
}
.jp-SharedTerm-playerMarkerTime {
  flex: 0 0 auto;
  font-family: var(--jp-code-font-family);
  color: var(--jp-ui-font-color2);
}
.jp-SharedTerm-playerMarkerLabel { overflow-wrap: anywhere; }
.jp-SharedTerm-playerControls {
  flex: 0 0 auto;
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 6px 10px;
  padding: 6px 12px;
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
}
.jp-SharedTerm-playerControls label {
  display: inline-flex;
  align-items: center;
  gap: 4px;
  white-space: nowrap;
}
.jp-SharedTerm-playerControls .jp-SharedTerm-playerIdleLabel { white-space: normal; }
.jp-SharedTerm-playerPlay { min-width: 72px; }
.jp-SharedTerm-playerSpeed {
  padding: 2px 4px;
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: 2px;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font: inherit;
}
.jp-SharedTerm-playerTime {
  font-family: var(--jp-code-font-family);
  white-space: nowrap;
}
.jp-SharedTerm-playerTrack { position: relative; flex: 1 1 auto; min-width: 120px; }
.jp-SharedTerm-playerSeek { width: 100%; margin: 0; }
.jp-SharedTerm-playerTicks {
  position: absolute;
  left: 8px;
  right: 8px;
  top: -5px;
  height: 5px;
  pointer-events: none;
}
.jp-SharedTerm-playerTick {
  position: absolute;
  width: 2px;
  height: 5px;
  margin-left: -1px;
  background: var(--jp-brand-color1);
}
.jp-SharedTerm-recordings {
  padding: 12px 16px;
  overflow: auto;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
}
.jp-SharedTerm-recordings [hidden] { display: none !important; }
.jp-SharedTerm-recordingsIntro { margin: 0 0 4px; }
.jp-SharedTerm-recordingsStatus { margin: 0 0 8px; color: var(--jp-ui-font-color2); }
.jp-SharedTerm-recordingsTable { border-collapse: collapse; width: 100%; }
.jp-SharedTerm-recordingsTable th,
.jp-SharedTerm-recordingsTable td {
  padding: 4px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  text-align: left;
  vertical-align: middle;
}
.jp-SharedTerm-recordingsTable th { font-weight: 600; color: var(--jp-ui-font-color2); }
.jp-SharedTerm-recordingTitle { overflow-wrap: anywhere; }
.jp-SharedTerm-recordingNote { color: var(--jp-ui-font-color2); font-size: var(--jp-ui-font-size0); }
.jp-SharedTerm-recording[data-state='recording'] .jp-SharedTerm-recordingState,
.jp-SharedTerm-recording[data-state='interrupted'] .jp-SharedTerm-recordingState {
  color: var(--jp-warn-color0);
}
.jp-SharedTerm-recordingActions { white-space: nowrap; }
.jp-SharedTerm-recordingActions > * { margin-right: 8px; }
.jp-SharedTerm-downloadRecording { color: var(--jp-content-link-color); }
`;

/** Add the styles to the page (once). */
export function ensureStyle(): void {
  if (document.getElementById(STYLE_ID)) {
    return;
  }
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.appendChild(style);
}
