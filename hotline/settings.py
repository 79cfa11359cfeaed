"""Settings: one immutable object, read from the environment (``HOTLINE_*``).

Everything a running platform needs to know about *where* things are lives
here: ports, bind address, the state directory, the map file.  Secrets are
not settings: they are generated once per state directory (see
:mod:`hotline.secrets`) and never have a default.

Every field can be overridden by an environment variable of the same name in
upper case with the ``HOTLINE_`` prefix, e.g. ``HOTLINE_AGI_PORT=4600``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.calendar import Calendar, zone
from hotline.calendar import load_calendar as _load_calendar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# the two levels of the hotline (省、市两级): what a deployment can be (HOTLINE_ROLE)
ROLES = ("city", "province")
EXCHANGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")


def _data_root() -> Path:
    """Where transfer_map.yaml and ivr_flows/ ship: the checkout, else share/hotline."""
    if (PROJECT_ROOT / "transfer_map.yaml").exists():
        return PROJECT_ROOT
    return Path(sys.prefix) / "share" / "hotline"


def _default_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "hotline"


# (field, lowest, highest) of the knobs checked when the settings are made
CHECKED_RANGES: tuple[tuple[str, int, int], ...] = (
    ("citizen_address_per_hour", 1, 10000),
    ("citizen_phone_per_day", 1, 1000),
    ("citizen_lookups_per_hour", 1, 10000),
    ("citizen_photo_max_kb", 16, 20480),
    ("citizen_photo_retention_days", 0, 3650),
    ("asterisk_trim_interval", 0, 86400),
)


@dataclass(frozen=True)
class Settings:
    # where state lives: secrets, rendered config, logs, the SQLite DB, Redis data
    home: Path = field(default_factory=_default_home)
    # cache of the Debian unstable root file system that carries Asterisk
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "hotline")
    # the admin's routing map and the IVR flows
    transfer_map: Path = field(default_factory=lambda: _data_root() / "transfer_map.yaml")
    ivr_flows_dir: Path = field(default_factory=lambda: _data_root() / "ivr_flows")
    # the one calendar: holidays/<year>.yaml (hotline/calendar.py)
    holidays_dir: Path = field(default_factory=lambda: _data_root() / "holidays")
    # the hotline's time zone: line hours, IVR hours, work-order deadlines
    timezone: str = "Asia/Shanghai"

    bind: str = "127.0.0.1"
    sip_agent_port: int = 5060  # agents' softphones register here
    sip_trunk_port: int = 5080  # PSTN / carrier, province platform, sub-centers
    rtp_start: int = 10000
    rtp_end: int = 20000
    ami_port: int = 5038
    http_port: int = 8088  # Asterisk's HTTP server: ARI
    wss_port: int = 8089  # Asterisk's HTTPS server: agents' browser softphones (SIP over WSS)
    agi_port: int = 4573
    api_port: int = 8000
    redis_port: int = 6379
    # Prometheus /metrics of the FastAGI server, the statistics consumer and the supervisor
    # (`hotline up`), loopback like the rest (hotline/metrics.py); 0 = not served
    agi_metrics_port: int = 9573
    stats_metrics_port: int = 9574
    up_metrics_port: int = 9575
    # empty means SQLite at <home>/hotline.db
    db_url: str = ""
    # name of this Asterisk node (several nodes may sit behind Kamailio)
    node: str = "ast1"
    ari_app: str = "hotline-ivr"
    # prefix every Asterisk / Redis name with this, so instances can share a host
    instance: str = "hotline"
    log_level: str = "INFO"

    # knobs: every HOTLINE_* variable the platform reads is a field here
    # the queues (queues/config.py checks the values)
    queue_strategy: str = "rrmemory"
    queue_wrapuptime: int = 5  # seconds
    queue_ring_timeout: int = 15  # seconds one member rings
    # callers waiting in one queue at most (app_queue maxlen); one more hears the busy
    # announcement (queue-full) and is hung up, so an overload never piles up channels; 0: no limit
    queue_maxlen: int = 200
    # the IVR app (ari_apps): load shedding, speech, callbacks
    ivr_max_calls: int = 400
    ivr_max_lag: float = 0.5  # seconds
    vosk_model: str = ""  # a Vosk model directory; empty: DTMF only
    ivr_aht: float = 180  # average handling seconds, for the callback's wait estimate
    callback_dial: str = "PJSIP/pstn/sip:{number}@127.0.0.1:5070"
    # outbound 回访 (workorder/revisit.py, dialed by the jobs through callback_dial): the calling
    # window in the hotline's time zone, minutes between attempts (the tries: Rules.callback_max_tries),
    # calls at once, ring seconds
    revisit_window: str = "08:00-21:00"
    revisit_interval_minutes: float = 120
    revisit_max_calls: int = 4
    revisit_ring_seconds: int = 30
    # the platform's call figures (queues/stats_calls.py): the rolling window of the 95% alert
    # (minutes), the fewest settled calls in it that are judged, an optional webhook (POST JSON)
    stats_alert_window: float = 60
    stats_alert_min_calls: int = 20
    stats_alert_webhook: str = ""
    # work orders: a folder with local copies of the work-order files (empty: the shipped ones),
    # the upstream (province) push
    workorder_config: str = ""
    # 无理重复诉求 (workorder/repeat.py), on 受理: the same caller and matter within this many days is a
    # repeat of the first order (0: off); "same matter": same category, token-set cosine >= this
    repeat_window_days: float = 30
    repeat_similarity: float = 0.6
    upstream_url: str = ""
    upstream_token: str = ""
    # the two levels (docs/province.md): this deployment is a city platform or the province
    # platform; only the province receives the cities' pushes (/api/v1/exchange/events).  The
    # exchange name is this platform in the exchange: the `source` of its pushes and the
    # X-Hotline-Source of its calls over the trunk (empty: the instance name)
    role: str = "city"
    exchange_name: str = ""
    # agent calls' recordings (workorder/recordings.py): the directory as Asterisk sees it (empty: the
    # instance's spool/monitor; with the Debian-sid root fs a path inside it), days kept, the disk guard
    recordings_dir: str = ""
    recording_retention_days: int = 180
    recording_min_free_mb: int = 500
    # the citizens' web channel (web/pages_citizen.py): appeals posted from one address per hour and
    # accepted for one phone per 24 h, progress queries and ratings from one address per hour, the
    # photo's size limit (KiB) and its directory (empty: <home>/citizen_photos); days a closed
    # order's photos are kept (the jobs' pass removes them, workorder/photos.py; 0: for ever)
    citizen_address_per_hour: int = 20
    citizen_phone_per_day: int = 3
    citizen_lookups_per_hour: int = 30
    citizen_photo_max_kb: int = 4096
    citizen_photo_dir: str = ""
    citizen_photo_retention_days: int = 180
    # seconds between the jobs' `malloc trim` of Asterisk (workorder/jobs_cli.py): glibc keeps the
    # heap a burst of calls freed, this gives it back to the system (0: never)
    asterisk_trim_interval: int = 600
    # use the Debian-sid root fs even when a system Asterisk exists
    force_rootfs: bool = False
    # the unprivileged user Asterisk runs as (the Debian package's `asterisk`; in the chroot, the
    # root file system's own user); "root" runs it as root, knowingly
    asterisk_user: str = "asterisk"

    def __post_init__(self) -> None:
        for name, low, high in CHECKED_RANGES:
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"HOTLINE_{name.upper()}={value}: must be between {low} and {high}")
        if self.role not in ROLES:
            raise ValueError(f"HOTLINE_ROLE={self.role!r}: one of {', '.join(ROLES)}")
        if self.exchange_name and not EXCHANGE_NAME_RE.match(self.exchange_name):
            raise ValueError(
                f"HOTLINE_EXCHANGE_NAME={self.exchange_name!r}: lower-case letters, digits and _ (at most 32)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        source: Mapping[str, str] = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f"HOTLINE_{f.name.upper()}")
            if raw is None:
                continue
            kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
            values[f.name] = _parse(f"HOTLINE_{f.name.upper()}", kind, raw)
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    # derived paths -----------------------------------------------------
    @property
    def accepted_map(self) -> Path:
        """The last transfer map that was accepted (validated and rendered): a
        FastAGI process that finds the map file refused serves this one."""
        return self.home / "transfer_map.accepted.yaml"

    @property
    def exchange_source(self) -> str:
        """This platform's name in the two-level exchange (HOTLINE_EXCHANGE_NAME, else the instance)."""
        return self.exchange_name or self.instance

    @property
    def log_dir(self) -> Path:
        return self.home / "log"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'hotline.db'}"

    @property
    def citizen_photos(self) -> Path:
        """Where the photos of the citizens' web appeals are kept."""
        return Path(self.citizen_photo_dir).expanduser() if self.citizen_photo_dir else self.home / "citizen_photos"

    @property
    def redis_host(self) -> str:
        """Where Redis listens: it has no password, so never off loopback (Redis's protected mode
        refuses other clients anyway): the bind address when it is a loopback one, else 127.0.0.1."""
        return self.bind if self.bind.startswith("127.") else "127.0.0.1"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/0"


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that runs with ``settings`` (the services, ``hotline reload``)."""
    env = dict(os.environ)
    for f in fields(settings):
        env[f"HOTLINE_{f.name.upper()}"] = str(getattr(settings, f.name))
    return env


def _parse(name: str, kind: str, raw: str) -> object:
    """One environment value as its field's type; ValueError naming the variable."""
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not a {'whole ' if kind == 'int' else ''}number") from None
    if kind == "bool":
        if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no", ""):
            raise ValueError(f"{name}={raw!r}: use 1/0, true/false or yes/no")
        return raw.strip().lower() in ("1", "true", "yes")
    if kind == "Path":
        return Path(raw).expanduser()
    return raw


def load_calendar(settings: Settings) -> Calendar:
    """The platform's one calendar, from ``settings.holidays_dir`` and ``settings.timezone``.

    Raises :class:`hotline.yamlsrc.ConfigError` when a year file is bad."""
    return _load_calendar(settings.holidays_dir, settings.timezone)


@functools.cache
def local_zone() -> ZoneInfo:
    """The hotline's time zone (HOTLINE_TIMEZONE) for showing times: the one setting."""
    return zone(Settings.from_env().timezone)


def get_settings() -> Settings:
    return Settings.from_env()
