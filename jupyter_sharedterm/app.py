"""The Jupyter server extension: configuration (traitlets) and the handler table, nothing else."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from jupyter_server_terminals.terminalmanager import TerminalManager
from traitlets import Bool, Bytes, Dict, Enum, Float, Int, TraitError, Unicode, default, validate

from .core.invites import SecretHasher
from .core.limits import SessionLimits
from .core.presence import PresenceTiming
from .core.session import MAX_ACTIVE_INVITES
from .devices import DeviceInventory, DeviceSessions
from .handlers.devices import DevicesHandler, LoginHandler, LoginsHandler
from .handlers.guest import GuestGate, GuestPageHandler, GuestStaticHandler
from .handlers.memories import MAX_TEXT_SETTING, STORE_SETTING, MemoriesHandler, MemoryHandler
from .handlers.recordings import (
    RecordingCastHandler,
    RecordingHandler,
    RecordingsHandler,
    SessionRecordingHandler,
)
from .handlers.rest import (
    InviteHandler,
    InvitesHandler,
    JoinHandler,
    ParticipantHandler,
    SessionHandler,
    SessionsHandler,
)
from .handlers.terminal import TerminalSocketHandler
from .live import LiveConfig, RecordingConfig
from .manager import SessionManager
from .memories.sqlite import MemoryStoreError, SqliteMemoryStore
from .presence import PresenceHandler, PresenceHub, PresenceSocketHandler
from .recording.store import RecordingStore
from .terminals import CleanSignalsTerminalManager, RecordedTerminalManager

__all__ = ["AUDIT_SCHEMA_ID", "LIVE_SETTINGS", "SharedTermApp"]

AUDIT_SCHEMA_ID = "https://events.jupyter.org/jupyter_sharedterm/audit/v1"
MIN_KEY_BYTES = 32  # an HMAC-SHA256 key: shorter would weaken it
# LiveConfig field -> the setting that fills it; every field has one (tests/unit/test_docs.py).
LIVE_SETTINGS = {
    "client_queue_bytes": "client_queue_bytes",
    "stall_timeout": "stall_timeout_seconds",
    "owner_grace": "owner_grace_seconds",
    "frame_rate": "frame_rate",
    "frame_burst": "frame_burst",
    "flood_close_after": "flood_close_after_frames",
    "typing_interval": "typing_interval_seconds",
    "typing_delay": "typing_delay_seconds",
    "mirror_idle_chars": "mirror_idle_chars",
    "mirror_tick": "mirror_tick_seconds",
    "coalesce_seconds": "coalesce_seconds",
    "mirror_pending_chars": "mirror_pending_chars",
    "mirror_scrollback_chars": "mirror_scrollback_chars",
}
_ID = r"[A-Za-z0-9_-]{1,64}"


class SharedTermApp(ExtensionApp):
    """Shares live terminals with roles the server enforces."""

    name = "jupyter_sharedterm"

    owner_grace_seconds = Float(
        300.0,
        config=True,
        help="How long a session lives on after its last owner disconnects (seconds).",
    )
    client_queue_bytes = Int(
        4 << 20,
        config=True,
        help="Bytes queued for one slow client before it is resynced to the current screen.",
    )
    stall_timeout_seconds = Float(
        30.0, config=True, help="A client whose socket accepts nothing for this long is dropped."
    )
    frame_rate = Float(
        200.0,
        min=1.0,
        config=True,
        help="Frames per second one socket may send on average; beyond the burst, frames are "
        "dropped with an error.",
    )
    frame_burst = Float(
        400.0, min=1.0, config=True, help="Frames one socket may send in a burst (see frame_rate)."
    )
    flood_close_after_frames = Int(
        1000,
        min=1,
        config=True,
        help="Frames dropped for flooding (forgiven at 20 per second) before the socket is closed.",
    )
    typing_interval_seconds = Float(
        0.5,
        min=0.0,
        config=True,
        help="At most one 'typing' notice per participant per this interval.",
    )
    typing_delay_seconds = Float(
        0.02,
        min=0.0,
        config=True,
        help="How long a 'typing' notice waits, so the keystroke's echo goes out first.",
    )
    coalesce_seconds = Float(
        0.003,
        min=0.0,
        config=True,
        help="While output streams, it is sent at most once per this interval, in one frame.",
    )
    mirror_tick_seconds = Float(
        0.05,
        min=0.001,
        config=True,
        help="How often the screen mirror catches up while output is quiet, and the session's "
        "timed rules run.",
    )
    mirror_idle_chars = Int(
        8 << 10,
        min=1,
        config=True,
        help="Characters of output the screen mirror emulates per quiet tick.",
    )
    mirror_pending_chars = Int(
        16 << 10,
        min=1,
        config=True,
        help="Output the screen mirror keeps un-emulated at most; older output is skipped.",
    )
    mirror_scrollback_chars = Int(
        64 << 10,
        min=0,
        config=True,
        help="Recent output kept to give a late joiner its scrollback.",
    )
    invite_key = Bytes(
        b"",
        config=True,
        help="Key (at least 32 bytes) for hashing invite secrets. Empty: a random key per "
        "server process, so links die with it. Set the same key on every replica, or to "
        "keep links valid across restarts.",
    )
    guest_cookie_key = Bytes(
        b"",
        config=True,
        help="Key (at least 32 bytes) that signs guests' cookies. Empty: a random key per "
        "server process. Use a different key from invite_key.",
    )
    max_sessions_per_user = Int(
        20, config=True, help="Active sessions one user may own at once (further ones get 429)."
    )

    record_sessions = Bool(
        True,
        config=True,
        help="Record every shared session (participants are always told). Turn off only where "
        "recording is handled elsewhere.",
    )
    recordings_dir = Unicode(
        "",
        config=True,
        help="Folder for recordings (created 0700). Default: sharedterm/recordings in the "
        "Jupyter data dir.",
    )
    record_input = Bool(
        False,
        config=True,
        help="Also record what people type ('i' events). Off by default: input carries passwords.",
    )
    recording_write_error = Enum(
        ["stop_input", "continue"],
        "stop_input",
        config=True,
        help="When the recording cannot be written (disk full): 'stop_input' refuses input and "
        "tells everyone until writing works again; 'continue' keeps going and writes a visible "
        "gap marker once it can.",
    )

    allow_guests = Bool(
        config=True,
        help="Let people with no Jupyter identity join a session through an invite link, as "
        "guests confined to that session. Default: on, except under JupyterHub, where guests "
        "would bypass the Hub's access model.",
    )
    guest_cookie_seconds = Float(
        12 * 3600.0,
        config=True,
        help="How long a guest's cookie is valid (seconds). It dies sooner with its session, "
        "its removal, or a server restart.",
    )

    max_participants = Int(
        200,
        min=1,
        config=True,
        help="People one session admits at once. Removed people do not count: removing "
        "someone gives their place back.",
    )
    invites_kept = Int(
        200,
        min=MAX_ACTIVE_INVITES,
        config=True,
        help="Invite links a session lists for its owners; past this the oldest dead ones "
        "(revoked, expired, used up) are forgotten.",
    )
    invite_default_uses = Int(
        25,
        min=1,
        max=1000,
        config=True,
        help="People one invite link admits when its owner does not say (`max_uses`). Removing "
        "someone who came through a link gives its use back.",
    )
    guest_joins_per_address = Int(
        10,
        min=1,
        config=True,
        help="New guests one client address may add through one link: this many at once, then "
        "this many per minute.",
    )
    failed_join_delay_seconds = Float(
        1.0,
        min=0.0,
        max=30.0,
        config=True,
        help="Once an address has used up its allowance of failed joins (10, then one every 6 "
        "s), each further wrong secret is answered 429 after this delay. A right secret is "
        "always admitted.",
    )
    failed_join_delayed_max = Int(
        64,
        min=0,
        config=True,
        help="Delayed 429 answers (see `failed_join_delay_seconds`) held back at once on the "
        "server; past this they are answered at once.",
    )
    sockets_per_participant = Int(
        8,
        min=1,
        config=True,
        help="Terminal websockets (windows, tabs) one participant may hold open on one session "
        "at once; one more answers 429 before the upgrade.",
    )
    questions_per_minute = Float(
        6.0,
        min=0.1,
        config=True,
        help="Questions one participant may ask per minute, after a burst of "
        "`questions_burst`; faster ones are refused to the asker alone.",
    )
    questions_burst = Int(
        3,
        min=1,
        config=True,
        help="Questions one participant may ask in a row before the rate applies.",
    )
    questions_kept = Int(
        100,
        min=1,
        config=True,
        help="Questions a session keeps for late joiners. When full, answered questions and "
        "those of removed people make room; one person never pushes out another's.",
    )
    questions_kept_per_participant = Int(
        10,
        min=1,
        config=True,
        help="Questions of one participant the session keeps; their oldest makes room for "
        "their newest.",
    )

    devices = Dict(
        config=True,
        help="SSH devices people may open shared sessions to: {name: {host, username, port, "
        "auth, key_files, use_agent, known_hosts, jump, connect_timeout, keepalive_interval, "
        "keepalive_count_max}}. Checked at startup; see docs/configuration.md.",
    )
    allow_adhoc_ssh = Bool(
        False,
        config=True,
        help="Also let people open SSH sessions to hosts that are not in `devices` (password "
        "and keyboard-interactive only; the server's keys are never offered to them).",
    )
    ssh_known_hosts = Unicode(
        "",
        config=True,
        help="The server's own known_hosts file (0600), where confirmed host keys are pinned. "
        "Default: sharedterm/known_hosts in the Jupyter data dir.",
    )
    ssh_login_wait_seconds = Float(
        180.0,
        config=True,
        help="How long a device login waits for its owner to confirm a host key or answer a "
        "prompt before the connection is dropped (seconds).",
    )

    presence_away_seconds = Float(
        300.0,
        config=True,
        help="Team presence: a signed-in person with no input for this long (or only hidden "
        "tabs) is shown as away rather than idle (seconds; at least 60).",
    )
    presence_ping_interval_seconds = Float(
        3.0,
        config=True,
        help="Team presence: how often each presence connection is pinged (seconds). Browsers "
        "answer pings even in throttled background tabs.",
    )
    presence_ping_timeout_seconds = Float(
        9.0,
        config=True,
        help="Team presence: a connection that answered no ping for this long is closed and "
        "its person shown offline if it was their last (seconds; a silent network drop).",
    )

    memories_dir = Unicode(
        "",
        config=True,
        help="Folder of the memories database (created 0700; the database file 0600). "
        "Default: sharedterm/memories in the Jupyter data dir.",
    )
    max_memories_per_user = Int(
        1000, min=1, config=True, help="Memories one person may keep (further ones get 429)."
    )
    max_memory_chars = Int(
        4000, min=1, config=True, help="The longest text one memory may have (characters)."
    )

    @validate("invite_key", "guest_cookie_key")
    def _validate_key(self, proposal: Any) -> bytes:
        key: bytes = proposal["value"]
        if key and len(key) < MIN_KEY_BYTES:
            name = proposal["trait"].name
            raise TraitError(
                f"c.SharedTermApp.{name} must be at least {MIN_KEY_BYTES} bytes "
                f"(got {len(key)}); leave it empty for a random key per process."
            )
        return key

    @default("allow_guests")
    def _default_allow_guests(self) -> bool:
        return "JUPYTERHUB_API_TOKEN" not in os.environ

    record_terminals = Bool(
        True,
        config=True,
        help="Give every JupyterLab terminal its own recording from its creation (readable by "
        "whoever may use terminals). Applies when the terminals extension uses its default "
        "terminal manager.",
    )

    freeze_startup_objects = Bool(
        True,
        config=True,
        help="Once the server is up, move the objects made while starting (modules, classes, "
        "parsed schemas: about 200,000) out of the garbage collector's sight, as `gc.freeze()` "
        "does. Each full collection otherwise walks them all, a pause of ~100 ms on 2 cores that "
        "a keystroke echo waits behind when many people watch a session.",
    )

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        super()._link_jupyter_server_extension(serverapp)
        # Extensions are all linked before any is loaded, and the terminals extension creates its
        # terminal manager when it loads: this is the moment to swap in ours.
        ours = RecordedTerminalManager if self.record_terminals else CleanSignalsTerminalManager
        terminals = serverapp.extension_manager.extensions.get("jupyter_server_terminals")
        for point in terminals.extension_points.values() if terminals else ():
            app = point.app
            if app is not None and app.terminal_manager_class is TerminalManager:
                app.terminal_manager_class = ours

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None and serverapp.event_logger is not None
        logger = serverapp.event_logger
        logger.register_event_schema(Path(__file__).parent / "events" / "audit.yaml")
        config = self.live_config()
        web_settings = serverapp.web_app.settings

        def emit_audit(data: dict[str, Any]) -> None:
            logger.emit(schema_id=AUDIT_SCHEMA_ID, data=data)

        recording = None
        if self.record_sessions:
            folder = Path(
                self.recordings_dir or Path(jupyter_data_dir(), "sharedterm", "recordings")
            )
            store = RecordingStore(folder)
            interrupted = store.mark_interrupted()  # never silently resumed after a restart
            if interrupted:
                self.log.info("sharedterm: %d recordings marked interrupted", len(interrupted))
            recording = RecordingConfig(
                store,
                capture_input=self.record_input,
                on_write_error="continue"
                if self.recording_write_error == "continue"
                else "stop_input",
            )
        limits = SessionLimits(
            max_participants=self.max_participants,
            invites_kept=self.invites_kept,
            invite_default_uses=self.invite_default_uses,
            guest_joins_per_address=self.guest_joins_per_address,
            sockets_per_participant=self.sockets_per_participant,
            questions_burst=self.questions_burst,
            questions_per_minute=self.questions_per_minute,
            questions_kept=self.questions_kept,
            questions_kept_per_participant=self.questions_kept_per_participant,
        )
        self.manager = SessionManager(
            limits=limits,
            recording=recording,
            terminal_manager=lambda: web_settings.get("terminal_manager"),
            emit_audit=emit_audit,
            config=config,
            max_sessions_per_user=self.max_sessions_per_user,
            root_dir=serverapp.root_dir,
            # A random key per process unless set: links then die with the process, as sessions do.
            hasher=SecretHasher(self.invite_key or os.urandom(MIN_KEY_BYTES)),
        )
        self.settings["sharedterm_manager"] = self.manager
        known_hosts = Path(
            self.ssh_known_hosts or Path(jupyter_data_dir(), "sharedterm", "known_hosts")
        )
        try:
            inventory = DeviceInventory.from_config(
                self.devices, allow_adhoc=self.allow_adhoc_ssh, known_hosts=known_hosts
            )
        except ValueError as e:  # SshConfigError: the message names the setting to fix
            self.log.error("sharedterm: invalid SSH device configuration: %s", e)
            raise
        self.device_sessions = DeviceSessions(
            inventory, self.manager, wait_seconds=self.ssh_login_wait_seconds
        )
        self.settings["sharedterm_devices"] = self.device_sessions
        self.settings["sharedterm_guests"] = GuestGate(
            enabled=self.allow_guests,
            cookie_seconds=self.guest_cookie_seconds,
            key=self.guest_cookie_key or None,
            failed_join_delay=self.failed_join_delay_seconds,
            max_delayed=self.failed_join_delayed_max,
        )
        try:
            timing = PresenceTiming(
                away_seconds=self.presence_away_seconds,
                liveness_seconds=self.presence_ping_timeout_seconds,
            )
        except ValueError as e:
            self.log.error("sharedterm: invalid presence settings: %s", e)
            raise
        self.presence = PresenceHub(timing, ping_interval=self.presence_ping_interval_seconds)
        self.settings["sharedterm_presence"] = self.presence
        serverapp.io_loop.add_callback(self.presence.start)
        try:
            self.settings[STORE_SETTING] = SqliteMemoryStore(
                Path(self.memories_dir or Path(jupyter_data_dir(), "sharedterm", "memories")),
                max_per_author=self.max_memories_per_user,
            )
        except MemoryStoreError as e:  # the message names the setting to change
            self.log.error("sharedterm: %s", e)
            raise
        self.settings[MAX_TEXT_SETTING] = self.max_memory_chars
        if self.freeze_startup_objects:
            # Runs when the event loop starts: every extension has been loaded by then.
            serverapp.io_loop.add_callback(_freeze_startup_objects)

    def live_config(self) -> LiveConfig:
        """The live sessions' tunables, from the settings (`LIVE_SETTINGS` names each one's)."""
        return LiveConfig(**{field: getattr(self, name) for field, name in LIVE_SETTINGS.items()})

    def initialize_handlers(self) -> None:
        sessions = "api/sharedterm/sessions"
        self.handlers.extend(
            [
                (rf"/{sessions}", SessionsHandler),
                (rf"/{sessions}/({_ID})", SessionHandler),
                (rf"/{sessions}/({_ID})/participants/({_ID})", ParticipantHandler),
                (rf"/{sessions}/({_ID})/invites", InvitesHandler),
                (rf"/{sessions}/({_ID})/invites/({_ID})", InviteHandler),
                (rf"/{sessions}/({_ID})/terminal", TerminalSocketHandler),
                (rf"/{sessions}/({_ID})/recording", SessionRecordingHandler),
                (rf"/api/sharedterm/join/({_ID})", JoinHandler),
                (r"/api/sharedterm/devices", DevicesHandler),
                (r"/api/sharedterm/logins", LoginsHandler),
                (rf"/api/sharedterm/logins/({_ID})", LoginHandler),
                (rf"/sharedterm/join/({_ID})", GuestPageHandler),
                (r"/sharedterm/guest/static/(.*)", GuestStaticHandler),
                (r"/api/sharedterm/recordings", RecordingsHandler),
                (rf"/api/sharedterm/recordings/({_ID})", RecordingHandler),
                (rf"/api/sharedterm/recordings/({_ID})/cast", RecordingCastHandler),
                (r"/api/sharedterm/presence", PresenceHandler),
                (r"/api/sharedterm/presence/sync", PresenceSocketHandler),
                (r"/api/sharedterm/memories", MemoriesHandler),
                (rf"/api/sharedterm/memories/({_ID})", MemoryHandler),
            ]
        )

    async def stop_extension(self) -> None:
        presence: PresenceHub | None = getattr(self, "presence", None)
        if presence is not None:
            await presence.stop()
        devices: DeviceSessions | None = getattr(self, "device_sessions", None)
        if devices is not None:  # None when a bad device configuration stopped the start
            await devices.shutdown()
        await self.manager.shutdown()
        if self.manager.recording is not None:
            self.manager.recording.store.close()
        memories = self.settings.get(STORE_SETTING)
        if memories is not None:
            memories.close()


_frozen = False


def _freeze_startup_objects() -> None:
    """Freeze the server's startup heap once per process (tests start many servers in one)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()  # garbage frozen now would never be freed
        gc.freeze()
