"""Every setting dialtone reads, in one place.

Settings come from the process environment, then the project's `.env` (the project
folder is found by `dialtone/project.py`, so a command run from another directory
reads the same file), then the defaults below. Nothing
else in the package reads `os.environ` for configuration: a setting that is missing or
malformed must fail at start-up with the variable's name, not minutes later in the
middle of a phone call. Secrets are held as `SecretStr` so that a stray `repr()` or log
line prints `**********` instead of a SIP or API password.
"""

from __future__ import annotations

import os
import re
import sys
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .project import BESIDE_PACKAGE, env_file, project_dir

__all__ = ["BESIDE_PACKAGE", "ConfigError", "Profile", "Settings", "load_settings"]


class Profile(StrEnum):
    """Which speech and language providers a call uses."""

    AUTO = "auto"
    CLOUD = "cloud"
    OFFLINE = "offline"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable to fix."""


class Settings(BaseSettings):
    """dialtone's settings; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        # load_settings() names the project's `.env`; a bare Settings() reads none
        env_file=None,
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # LiveKit server (Cloud or self-hosted)
    livekit_url: str = Field("", validation_alias="LIVEKIT_URL")
    livekit_api_key: str = Field("", validation_alias="LIVEKIT_API_KEY")
    livekit_api_secret: SecretStr = Field(SecretStr(""), validation_alias="LIVEKIT_API_SECRET")

    # Providers for the cloud profile
    openai_api_key: SecretStr = Field(SecretStr(""), validation_alias="OPENAI_API_KEY")
    openai_base_url: str = Field("", validation_alias="OPENAI_BASE_URL")
    deepgram_api_key: SecretStr = Field(SecretStr(""), validation_alias="DEEPGRAM_API_KEY")

    profile: Profile = Field(Profile.AUTO, validation_alias="DIALTONE_PROFILE")
    llm_model: str = Field("gpt-4.1-mini", validation_alias="DIALTONE_LLM_MODEL")
    # A second model on the same server: off by default, because when the server is
    # down (the usual outage) each extra link adds one attempt timeout of silence.
    llm_fallback_model: str = Field("", validation_alias="DIALTONE_LLM_FALLBACK_MODEL")
    stt_model: str = Field("nova-2-phonecall", validation_alias="DIALTONE_STT_MODEL")
    stt_language: str = Field("en-US", validation_alias="DIALTONE_STT_LANGUAGE")
    tts_model: str = Field("gpt-4o-mini-tts", validation_alias="DIALTONE_TTS_MODEL")
    tts_voice: str = Field("", validation_alias="DIALTONE_TTS_VOICE")
    # Where Deepgram's streaming API is (a proxy, a self-hosted Deepgram, a test double)
    deepgram_base_url: str = Field("", validation_alias="DEEPGRAM_BASE_URL")

    # Failover (docs/configuration.md, "Provider failover"): a caller says "hello?"
    # after about 2 s of silence, so a provider that has not started answering within
    # the attempt timeout is skipped for the next link of its chain, not retried.
    provider_timeout: float = Field(1.0, gt=0, le=30, validation_alias="DIALTONE_PROVIDER_TIMEOUT")
    provider_retries: int = Field(0, ge=0, le=5, validation_alias="DIALTONE_PROVIDER_RETRIES")
    provider_retry_interval: float = Field(
        0.2, ge=0, le=10, validation_alias="DIALTONE_PROVIDER_RETRY_INTERVAL"
    )

    persona_dir: Path = Field(Path("personas"), validation_alias="DIALTONE_PERSONA_DIR")
    # Outbound trunk names a campaign may use (besides LiveKit ST_ ids): trunks/*.yaml
    trunks_dir: Path = Field(Path("trunks"), validation_alias="DIALTONE_TRUNKS_DIR")
    # The agent programs (receptionist.py, reminder.py); unset: ./agents, else the
    # folder beside the installed package (see dialtone/programs.py).
    agents_dir: Path | None = Field(None, validation_alias="DIALTONE_AGENTS_DIR")
    default_persona: str = Field("receptionist", validation_alias="DIALTONE_DEFAULT_PERSONA")
    data_dir: Path = Field(Path("data"), validation_alias="DIALTONE_DATA_DIR")
    log_level: str = Field("INFO", validation_alias="DIALTONE_LOG_LEVEL")

    # Campaign API and dialer (dialtone/campaigns)
    api_token: SecretStr = Field(SecretStr(""), validation_alias="DIALTONE_API_TOKEN")
    database_url: str = Field("", validation_alias="DIALTONE_DATABASE_URL")
    allowed_country_codes: str = Field("1", validation_alias="DIALTONE_ALLOWED_COUNTRY_CODES")
    # The deployer's calling rules (closure days, stricter caps), read on top of the
    # shipped legal floor (dialtone/campaigns/policy/rules.yaml; docs/compliance.md)
    calling_rules: Path | None = Field(None, validation_alias="DIALTONE_CALLING_RULES")
    # Where the reminder worker reaches the campaign API (dial permit, outcome report)
    campaign_api_url: str = Field(
        "http://127.0.0.1:8080", validation_alias="DIALTONE_CAMPAIGN_API_URL"
    )

    # Call records and telephony metrics (dialtone/records)
    record_numbers: Literal["keep", "mask", "drop"] = Field(
        "keep", validation_alias="DIALTONE_RECORD_NUMBERS"
    )
    record_transcripts: Literal["keep", "mask", "drop"] = Field(
        "keep", validation_alias="DIALTONE_RECORD_TRANSCRIPTS"
    )
    # Call audio (dialtone/records/audio.py): recorded when a persona enables it
    record_audio: Literal["keep", "drop"] = Field("keep", validation_alias="DIALTONE_RECORD_AUDIO")
    recording_url: str = Field("", validation_alias="DIALTONE_RECORDING_URL")
    recording_retention_days: int = Field(
        30, ge=1, le=3650, validation_alias="DIALTONE_RECORDING_RETENTION_DAYS"
    )
    # Worker capacity (docs/operating.md, "Sizing"): measured with bench/call_capacity.py
    # in the production shape; see dialtone/worker.py for how each figure was chosen.
    worker_load_threshold: float = Field(
        0.6, gt=0, le=1, validation_alias="DIALTONE_WORKER_LOAD_THRESHOLD"
    )
    job_memory_warn_mb: float = Field(500, ge=0, validation_alias="DIALTONE_JOB_MEMORY_WARN_MB")
    job_memory_limit_mb: float = Field(1000, ge=0, validation_alias="DIALTONE_JOB_MEMORY_LIMIT_MB")
    worker_idle_processes: int = Field(
        4, ge=0, le=100, validation_alias="DIALTONE_WORKER_IDLE_PROCESSES"
    )
    # Several calls per process (docs/operating.md, "Several calls per process"): above
    # 1, `dialtone start` runs `worker_groups` workers (default: one per core), each
    # hosting up to this many calls as threads of one process.
    calls_per_process: int = Field(1, ge=1, le=100, validation_alias="DIALTONE_CALLS_PER_PROCESS")
    worker_groups: int | None = Field(None, ge=1, le=64, validation_alias="DIALTONE_WORKER_GROUPS")
    # Group i's livekit-agents health check listens on this plus i (0: any free port)
    worker_health_port: int = Field(
        8081, ge=0, le=65535, validation_alias="DIALTONE_WORKER_HEALTH_PORT"
    )
    # A call's per-frame work (docs/operating.md, "Less work per frame"): each measured
    # alone with bench/call_capacity.py against the fair bare baseline.
    loop_monitor_warn_ms: float | None = Field(
        None, ge=0, validation_alias="DIALTONE_LOOP_MONITOR_WARN_MS"
    )
    input_frame_ms: int = Field(
        50, ge=10, le=100, multiple_of=10, validation_alias="DIALTONE_INPUT_FRAME_MS"
    )
    uvloop: bool = Field(False, validation_alias="DIALTONE_UVLOOP")
    worker_metrics_port: int = Field(
        9464, ge=0, le=65535, validation_alias="DIALTONE_WORKER_METRICS_PORT"
    )
    metrics_dir: Path | None = Field(None, validation_alias="DIALTONE_METRICS_DIR")
    webhook_secret: SecretStr = Field(SecretStr(""), validation_alias="DIALTONE_WEBHOOK_SECRET")
    metrics_token: SecretStr = Field(SecretStr(""), validation_alias="DIALTONE_METRICS_TOKEN")
    # Where each new message is POSTed as a signed `message.created` event (optional)
    message_webhook_url: str = Field("", validation_alias="DIALTONE_MESSAGE_WEBHOOK_URL")

    # The web console (dialtone/console_web): sign in with this, else the API token
    console_password: SecretStr = Field(SecretStr(""), validation_alias="DIALTONE_CONSOLE_PASSWORD")
    # Behind a TLS-terminating proxy: believe its X-Forwarded-Proto (Secure cookies)
    trust_forwarded_proto: bool = Field(False, validation_alias="DIALTONE_TRUST_FORWARDED_PROTO")
    # The clinic's time zone: every time the console shows is in it (IANA name)
    console_timezone: str = Field("UTC", validation_alias="DIALTONE_TIMEZONE")
    # Webhook receivers on a private network that may be posted to anyway: host names
    # and/or networks (CIDR), comma-separated. Empty: only public addresses.
    webhook_allow: str = Field("", validation_alias="DIALTONE_WEBHOOK_ALLOW")

    @field_validator("console_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        value = value.strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone name, e.g. America/New_York") from None
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _check_webhook_allow(cls, value: str) -> str:
        import ipaddress

        items = [item.strip().lower() for item in value.split(",") if item.strip()]
        for item in items:
            if "/" in item or item.replace(".", "").isdigit() or ":" in item:
                try:
                    ipaddress.ip_network(item.strip("[]"), strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not a network such as 10.0.5.0/24") from None
            elif not re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", item):
                raise ValueError(f"{item!r} is not a host name or a network") from None
        return ",".join(items)

    def weak_secret_problems(self) -> list[str]:
        """One line per secret too weak to serve with: a guessable API token opens the
        whole API, a guessable console password the console."""
        from .passwords import password_problem, token_problem

        problems = []
        token = self.api_token.get_secret_value()
        if token and (problem := token_problem(token)) is not None:
            problems.append(f"DIALTONE_API_TOKEN {problem}")
        password = self.console_password.get_secret_value()
        if password and (problem := password_problem(password)) is not None:
            problems.append(f"DIALTONE_CONSOLE_PASSWORD {problem}")
        return problems

    @field_validator("loop_monitor_warn_ms", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`DIALTONE_LOOP_MONITOR_WARN_MS=` (as .env.example has it): livekit-agents' default."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("livekit_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("must start with ws://, wss://, http:// or https://")
        scheme, _, rest = value.partition("://")
        host, slash, path = rest.partition("/")
        if slash and path.strip("/"):
            # The API client posts to <url>/twirp/... and the worker dials <url>/agent:
            # a path (often a pasted room or dashboard link) breaks both.
            raise ValueError(
                f"must be the server's address without a path: {scheme}://{host}, not .../{path}"
            )
        return value.rstrip("/")

    @field_validator("message_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// on a private network)")
        return value

    @field_validator("recording_url")
    @classmethod
    def _check_recording_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\s]*)?", value):
            raise ValueError(
                "must be s3://bucket or s3://bucket/prefix (unset: the data directory)"
            )
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError(
                "must be a SQLAlchemy URL starting with sqlite:// or postgresql+psycopg://"
            )
        return value

    @field_validator("allowed_country_codes")
    @classmethod
    def _check_country_codes(cls, value: str) -> str:
        codes = [c.strip().lstrip("+") for c in value.split(",") if c.strip()]
        if not codes:
            raise ValueError("must list at least one country calling code, e.g. 1 or 1,44")
        for code in codes:
            # 1-3 digits is an ITU country code; "1" plus 3 digits re-allows one NANP area
            # code that is refused by default (the Caribbean ones bill internationally).
            if not re.fullmatch(r"[1-9][0-9]{0,2}|1[0-9]{3}", code):
                raise ValueError(
                    f"{code!r} is not a country calling code (1-3 digits, or 1 + an area code)"
                )
        return ",".join(codes)

    @property
    def country_codes(self) -> tuple[str, ...]:
        """`DIALTONE_ALLOWED_COUNTRY_CODES` as a tuple of digit strings."""
        return tuple(self.allowed_country_codes.split(","))

    @model_validator(mode="after")
    def _find_the_checkouts_folders(self) -> Settings:
        """Default folders missing here are looked for beside the package, then kept.

        `personas/` and `trunks/` are relative to where a command runs; a developer who
        runs `dialtone` from another directory of a source checkout (or the image's
        `/app`) means the checkout's folders, so a default that does not exist in the
        working directory is taken from beside the installed package when it is there.
        A folder the operator set is never replaced.
        """
        project = project_dir()
        for field, default in (("persona_dir", "personas"), ("trunks_dir", "trunks")):
            value: Path = getattr(self, field)
            if value == Path(default) and not value.exists():
                for folder in (project, BESIDE_PACKAGE):
                    if (folder / default).is_dir():
                        setattr(self, field, folder / default)
                        break
        # The data folder never depends on where a command runs: a relative one is
        # under the project folder, so `dialtone calls list` from another directory
        # opens the same database as the worker.
        if not self.data_dir.expanduser().is_absolute():
            self.data_dir = project / self.data_dir.expanduser()
        return self

    @property
    def resolved_database_url(self) -> str:
        """`DIALTONE_DATABASE_URL`, else the SQLite file under `DIALTONE_DATA_DIR`.

        The data directory is checked here, where it is first needed, so a directory
        that is a file or cannot be written is one line naming the setting instead of
        a database driver's traceback minutes later.
        """
        from .db.engine import sqlite_url

        if self.database_url:
            return self.database_url
        try:
            if not self.data_dir.is_dir():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                # Printed once, where it is made: a new empty folder is otherwise how
                # a wrong DIALTONE_DATA_DIR hides (an empty call list, no error).
                print(
                    f"dialtone: made the data folder {self.data_dir} "
                    "(DIALTONE_DATA_DIR to keep it elsewhere)",
                    file=sys.stderr,
                )
        except OSError as exc:
            raise ConfigError(
                f"DIALTONE_DATA_DIR {self.data_dir}: cannot be used as a directory "
                f"({exc.strerror or exc})"
            ) from None
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise ConfigError(f"DIALTONE_DATA_DIR {self.data_dir}: this user cannot write to it")
        return sqlite_url(self.data_dir)

    @property
    def has_livekit(self) -> bool:
        """True when every LiveKit credential is set: the worker can register."""
        return bool(
            self.livekit_url and self.livekit_api_key and self.livekit_api_secret.get_secret_value()
        )

    def require_livekit(self) -> None:
        """Fail with the names of the LiveKit variables that are missing."""
        missing = [
            name
            for name, value in (
                ("LIVEKIT_URL", self.livekit_url),
                ("LIVEKIT_API_KEY", self.livekit_api_key),
                ("LIVEKIT_API_SECRET", self.livekit_api_secret.get_secret_value()),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: the LiveKit server URL and API key pair "
                "are needed (see .env.example)"
            )

    @cached_property
    def resolved_profile(self) -> Profile:
        """`auto` becomes `cloud` only when every provider key is there, else `offline`.

        Half a set of keys is an error rather than a silent fallback: an operator who set
        OPENAI_API_KEY and forgot DEEPGRAM_API_KEY would otherwise answer real callers
        with the offline stand-in voice.
        """
        has_llm = bool(self.openai_api_key.get_secret_value() or self.openai_base_url)
        has_stt = bool(self.deepgram_api_key.get_secret_value())
        has_tts = bool(self.openai_api_key.get_secret_value() or self.openai_base_url)
        if self.profile is Profile.OFFLINE:
            return Profile.OFFLINE
        if has_llm and has_stt and has_tts:
            return Profile.CLOUD
        if self.profile is Profile.CLOUD or has_llm or has_stt:
            missing = []
            if not has_stt:
                missing.append("DEEPGRAM_API_KEY")
            if not has_llm:
                missing.append("OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")
            raise ConfigError(
                f"the cloud profile needs {' and '.join(missing)}; set it, or set "
                "DIALTONE_PROFILE=offline to run without providers"
            )
        return Profile.OFFLINE


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's errors into one message per variable."""
    try:
        return Settings(_env_file=env_file(), **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """Each bad variable on one line: its environment name and what is expected."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        spec = Settings.model_fields.get(field)
        alias = spec.validation_alias if spec is not None else None
        name = alias if isinstance(alias, str) else field
        lines.append(f"{name}: {error['msg']}")
    # One line however many: a terminal, a log line and a systemd status all show it
    return ("invalid setting " if len(lines) == 1 else "invalid settings: ") + "; ".join(lines)
