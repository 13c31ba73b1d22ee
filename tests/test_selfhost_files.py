"""Parse-checks for the self-hosting files at the repository root.

livekit.yaml, sip.yaml, docker-compose.yml, Dockerfile and .dockerignore cannot be run here
(no Docker engine), so these tests check what can be checked statically: every key is one
the LiveKit services actually read, the files agree with each other (keys, Redis address,
ports), and the image and compose services are wired the way docs/self-hosting.md says.

Each check returns a list of problems instead of asserting, so the tests at the bottom can
feed it deliberately broken copies and prove that it would catch them.
"""

from __future__ import annotations

import json
import re
import shlex
from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# --- Allow-lists ------------------------------------------------------------------------
# Copied from the `yaml:"..."` struct tags of the sources below (not from prose docs).
#
# livekit/livekit @ 788d4c354474383956067e3a22ffba88dd4803e4, pkg/config/config.go,
# `type Config struct`. livekit-server decodes its config with KnownFields(true), so any
# key outside this set stops the server at start-up. (config-sample.yaml at that commit
# was read too; its commented `debug_handler_port:` example does not match the struct's
# `debug_handler` key and is deliberately not listed here.)
LIVEKIT_TOP_LEVEL = frozenset(
    {
        "agents",
        "api",
        "audio",
        "bind_addresses",
        "debug_handler",
        "development",
        "enable_data_tracks",
        "enable_participant_data_blob",
        "ingress",
        "key_file",
        "keys",
        "limit",
        "log_level",
        "logging",
        "metric",
        "node_selector",
        "node_stats",
        "port",
        "prometheus",
        "prometheus_port",
        "psrpc",
        "redis",
        "region",
        "room",
        "rtc",
        "signal_relay",
        "sip",
        "trace",
        "turn",
        "video",
        "webhook",
    }
)

# `rtc:` = livekit/livekit pkg/config/config.go `type RTCConfig struct` (same commit) plus
# the inlined livekit/mediatransportutil pkg/rtcconfig/config.go `type RTCConfig struct` @
# 77f742a4bb32a3a4fcfe951f5d5e4a5dadb8312b (the newest snapshot available; livekit pins a
# later pseudo-version, a3417d38cda0, which may add keys but the ones used here are all
# also in config-sample.yaml).
LIVEKIT_RTC = frozenset(
    {
        # livekit/livekit RTCConfig
        "allow_tcp_fallback",
        "allow_udp_unstable_fallback",
        "congestion_control",
        "data_channel_max_buffered_amount",
        "datachannel_data_track_target_latency",
        "datachannel_lossy_target_latency",
        "datachannel_slow_threshold",
        "enable_rtp_stream_restart_detection",
        "enable_warp",
        "forward_stats",
        "packet_buffer_size",
        "packet_buffer_size_audio",
        "packet_buffer_size_video",
        "pli_throttle",
        "reconnect_on_data_channel_error",
        "reconnect_on_publication_error",
        "reconnect_on_subscription_error",
        "strict_acks",
        "tcp_fallback_rtt_threshold",
        "turn_servers",
        # mediatransportutil rtcconfig.RTCConfig (inline)
        "batch_io",
        "enable_loopback_candidate",
        "external_ip_only",
        "force_tcp",
        "interfaces",
        "ips",
        "node_ip",
        "port_range_end",
        "port_range_start",
        "sctp_cwnd_ca_step",
        "sctp_fast_rtx_wnd",
        "sctp_min_cwnd",
        "stun_servers",
        "tcp_port",
        "udp_port",
        "use_external_ip",
        "use_ice_lite",
        "use_mdns",
        "use_stun_port_as_ice",
    }
)

# `redis:` in both files = livekit/protocol redis/redis.go `type RedisConfig struct` @
# 17c16cf496fd20697ff862daf9768f9830ebe6fd (the version livekit/livekit pins; identical at
# the protocol version livekit/sip pins, 24e126c61d3e).
REDIS = frozenset(
    {
        "address",
        "cluster_addresses",
        "db",
        "dial_timeout",
        "max_redirects",
        "password",
        "pool_size",
        "pool_timeout",
        "read_timeout",
        "sentinel_addresses",
        "sentinel_master_name",
        "sentinel_password",
        "sentinel_username",
        "tls",
        "use_tls",
        "username",
        "write_timeout",
    }
)

# `logging:` = livekit/protocol logger/config.go `type Config struct` (same commit). LiveKit
# server's LoggingConfig inlines it and adds `pion_level`; livekit-sip uses it as is.
LOGGER = frozenset(
    {
        "component_levels",
        "item_sample_initial",
        "item_sample_interval",
        "item_sample_seconds",
        "json",
        "level",
        "sample",
        "sample_initial",
        "sample_interval",
    }
)
LIVEKIT_LOGGING = LOGGER | {"pion_level"}

# livekit/sip @ be5d3f572761b5f4a33577e3d2ea6d44402ad108 (same config as tag v1.11.0),
# pkg/config/config.go, `type Config struct`. livekit-sip uses plain yaml.Unmarshal, which
# silently ignores unknown keys, so this list is the only thing that catches a typo.
SIP_TOP_LEVEL = frozenset(
    {
        "add_record_route",
        "api_key",
        "api_secret",
        "audio_dtmf",
        "cluster_id",
        "codecs",
        "disable_rejected_invite_cache",
        "enable_jitter_buffer",
        "enable_jitter_buffer_prob",
        "experimental",
        "health_port",
        "hide_inbound_port",
        "ignore_local_addr_in_sdp",
        "jaeger_url",
        "listen_ip",
        "local_net",
        "logging",
        "max_active_calls",
        "max_cpu_utilization",
        "media_nat_1_to_1_ip",
        "media_timeout",
        "media_timeout_initial",
        "media_use_external_ip",
        "nat_1_to_1_ip",
        "outbound_route_headers",
        "pprof_port",
        "prometheus_port",
        "redis",
        "rtp_draining_duration",
        "rtp_draining_idle_timeout",
        "rtp_port",
        "sip_hostname",
        "sip_port",
        "sip_port_listen",
        "sip_ringing_interval",
        "sip_trunk_ids",
        "symmetric_rtp",
        "tcp",
        "tls",
        "udp_max_payload",
        "use_external_ip",
        "ws_url",
    }
)

# Where each image reads its configuration (checked in the same sources):
# livekit/livekit Dockerfile: ENTRYPOINT ["/livekit-server"], flag --config <path>.
# livekit/sip build/sip/Dockerfile: ENTRYPOINT ["livekit-sip", "--config=/sip/config.yaml"];
# SIP_CONFIG_BODY (cmd/livekit-sip/main.go) overrides the file when set.
LIVEKIT_CONFIG_PATH = "/etc/livekit.yaml"
SIP_CONFIG_PATH = "/sip/config.yaml"

SERVICES = frozenset({"redis", "livekit", "sip", "worker", "api"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SECRET_LENGTH = 32  # livekit-server logs an error for shorter secrets (ValidateKeys)


# --- Loading ------------------------------------------------------------------------------


def _load_yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name} must be a YAML mapping"
    return data


@pytest.fixture(scope="module")
def livekit() -> dict[str, Any]:
    return _load_yaml("livekit.yaml")


@pytest.fixture(scope="module")
def sip() -> dict[str, Any]:
    return _load_yaml("sip.yaml")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml("docker-compose.yml")


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


# --- Helpers ------------------------------------------------------------------------------


def _unknown(section: Any, allowed: frozenset[str], where: str) -> list[str]:
    if section is None:
        return []
    if not isinstance(section, dict):
        return [f"{where} must be a mapping"]
    return [f"unknown key {where}{key}" for key in sorted(set(section) - allowed, key=str)]


def _port_range(value: Any) -> tuple[int, int]:
    """rtcconfig.PortRange accepts "start-end" or a single port."""
    text = str(value).strip()
    start, _, end = text.partition("-")
    low = int(start)
    high = int(end) if end else low
    if high < low:
        raise ValueError(f"bad port range {text!r}")
    return low, high


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = str(address).rpartition(":")
    return host.strip("[]"), int(port)


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"expected JSON exec form, got {args!r}"
    return value


def _volume_targets(service: dict[str, Any]) -> dict[str, str]:
    """Short-syntax volumes as {container path: source}."""
    targets: dict[str, str] = {}
    for item in service.get("volumes", []) or []:
        source, target = str(item).split(":")[:2]
        targets[target] = source
    return targets


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(str(item).partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _url_reaches_livekit(
    url: str, client: str, livekit_cfg: dict[str, Any], compose_cfg: dict[str, Any]
) -> list[str]:
    """Can `client` (a compose service) reach LiveKit's signalling port at `url`?"""
    parts = urlsplit(url)
    problems = []
    if parts.scheme not in {"ws", "wss", "http", "https"}:
        problems.append(f"{client}: {url!r} is not a ws(s)/http(s) URL")
    if parts.port != livekit_cfg.get("port"):
        problems.append(f"{client}: {url!r} does not use livekit.yaml port {livekit_cfg['port']}")
    services = compose_cfg.get("services", {})
    host_net = {name for name, svc in services.items() if svc.get("network_mode") == "host"}
    if parts.hostname in LOOPBACK:
        if not {client, "livekit"} <= host_net:
            problems.append(f"{client}: loopback URL needs {client} and livekit on host networking")
    elif parts.hostname == "livekit":
        if {client, "livekit"} & host_net:
            problems.append(f"{client}: service-name URL cannot work with host networking")
    else:
        problems.append(f"{client}: {url!r} points at neither loopback nor the livekit service")
    return problems


# --- Checks (each returns a list of problems) ----------------------------------------------


def check_livekit(cfg: dict[str, Any]) -> list[str]:
    problems = _unknown(cfg, LIVEKIT_TOP_LEVEL, "")
    problems += _unknown(cfg.get("rtc"), LIVEKIT_RTC, "rtc.")
    problems += _unknown(cfg.get("redis"), REDIS, "redis.")
    problems += _unknown(cfg.get("logging"), LIVEKIT_LOGGING, "logging.")
    if not isinstance(cfg.get("port"), int):
        problems.append("port must be an integer")
    rtc = cfg.get("rtc") or {}
    for key in ("tcp_port", "port_range_start", "port_range_end"):
        if not isinstance(rtc.get(key), int):
            problems.append(f"rtc.{key} must be an integer")
    start, end = rtc.get("port_range_start"), rtc.get("port_range_end")
    if isinstance(start, int) and isinstance(end, int) and start >= end:
        problems.append("rtc.port_range_start must be below rtc.port_range_end")
    if not isinstance(rtc.get("use_external_ip"), bool):
        problems.append("rtc.use_external_ip must be true or false")
    if not (cfg.get("redis") or {}).get("address"):
        problems.append("redis.address is required for SIP")
    keys = cfg.get("keys")
    if not isinstance(keys, dict) or not keys:
        problems.append("keys must map at least one API key to its secret")
    else:
        for key, secret in keys.items():
            if not isinstance(key, str) or not isinstance(secret, str):
                problems.append(f"keys: {key!r} must map a string to a string")
            elif len(secret) < MIN_SECRET_LENGTH:
                problems.append(f"keys: secret for {key!r} is shorter than {MIN_SECRET_LENGTH}")
    return problems


def check_sip(cfg: dict[str, Any], livekit_cfg: dict[str, Any]) -> list[str]:
    problems = _unknown(cfg, SIP_TOP_LEVEL, "")
    problems += _unknown(cfg.get("redis"), REDIS, "redis.")
    problems += _unknown(cfg.get("logging"), LOGGER, "logging.")
    keys = livekit_cfg.get("keys") or {}
    api_key = cfg.get("api_key")
    if api_key not in keys:
        problems.append(f"api_key {api_key!r} is not one of livekit.yaml's keys")
    elif cfg.get("api_secret") != keys[api_key]:
        problems.append("api_secret does not match livekit.yaml's secret for api_key")
    sip_redis = (cfg.get("redis") or {}).get("address")
    if sip_redis != (livekit_cfg.get("redis") or {}).get("address"):
        problems.append(f"redis.address {sip_redis!r} differs from livekit.yaml's")
    if not isinstance(cfg.get("sip_port"), int):
        problems.append("sip_port must be an integer")
    try:
        rtp_low, rtp_high = _port_range(cfg.get("rtp_port"))
        rtc = livekit_cfg.get("rtc") or {}
        lk_low, lk_high = rtc["port_range_start"], rtc["port_range_end"]
        if rtp_low <= lk_high and lk_low <= rtp_high:
            problems.append("sip rtp_port overlaps livekit's rtc port range")
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f"rtp_port/rtc port range unreadable: {exc}")
    if cfg.get("use_external_ip") and cfg.get("nat_1_to_1_ip"):
        problems.append("use_external_ip and nat_1_to_1_ip cannot both be set")
    return problems


def check_compose(
    cfg: dict[str, Any], livekit_cfg: dict[str, Any], sip_cfg: dict[str, Any]
) -> list[str]:
    services = cfg.get("services") or {}
    problems = []
    if set(services) != SERVICES:
        problems.append(f"services are {sorted(services)}, expected {sorted(SERVICES)}")
        return problems

    # redis: the port LiveKit and SIP use must be the one redis-server listens on.
    redis_cmd = _command(services["redis"])
    redis_port = int(redis_cmd[redis_cmd.index("--port") + 1]) if "--port" in redis_cmd else 6379
    host, port = _host_port(livekit_cfg["redis"]["address"])
    if port != redis_port:
        problems.append(f"livekit.yaml redis port {port} != redis service port {redis_port}")
    if host in LOOPBACK:
        if not {"redis", "livekit", "sip"} <= {
            n for n, s in services.items() if s.get("network_mode") == "host"
        }:
            problems.append("loopback redis address needs redis, livekit, sip on host networking")
    elif host != "redis":
        problems.append(f"redis address host {host!r} is neither loopback nor the redis service")

    # livekit: the official image, reading livekit.yaml from where --config points.
    lk = services["livekit"]
    if not str(lk.get("image", "")).startswith("livekit/livekit-server"):
        problems.append("livekit must use the livekit/livekit-server image")
    lk_cmd = _command(lk)
    if "--config" not in lk_cmd or lk_cmd[lk_cmd.index("--config") + 1] != LIVEKIT_CONFIG_PATH:
        problems.append(f"livekit command must pass --config {LIVEKIT_CONFIG_PATH}")
    if _volume_targets(lk).get(LIVEKIT_CONFIG_PATH) != "./livekit.yaml":
        problems.append(f"livekit must mount ./livekit.yaml at {LIVEKIT_CONFIG_PATH}")

    # sip: the official image, configured by file at its entrypoint's path or by env body.
    sp = services["sip"]
    if not str(sp.get("image", "")).startswith("livekit/sip"):
        problems.append("sip must use the livekit/sip image")
    if _volume_targets(sp).get(
        SIP_CONFIG_PATH
    ) != "./sip.yaml" and "SIP_CONFIG_BODY" not in _environment(sp):
        problems.append(f"sip must mount ./sip.yaml at {SIP_CONFIG_PATH} or set SIP_CONFIG_BODY")
    problems += _url_reaches_livekit(sip_cfg["ws_url"], "sip", livekit_cfg, cfg)

    # worker and api: built from our Dockerfile, pointed at this LiveKit with a valid key.
    keys = livekit_cfg.get("keys") or {}
    for name in ("worker", "api"):
        svc = services[name]
        build = svc.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, dict):
            problems.append(f"{name} must build from the Dockerfile")
            continue
        context = ROOT / str(build.get("context", "."))
        dockerfile = str(build.get("dockerfile", "Dockerfile"))
        if context.resolve() != ROOT or dockerfile != "Dockerfile":
            problems.append(f"{name} must build ./Dockerfile with the repository as context")
        env = _environment(svc)
        problems += _url_reaches_livekit(env.get("LIVEKIT_URL", ""), name, livekit_cfg, cfg)
        api_key = env.get("LIVEKIT_API_KEY")
        if api_key not in keys or env.get("LIVEKIT_API_SECRET") != keys[api_key]:
            problems.append(f"{name}: LIVEKIT_API_KEY/SECRET do not match livekit.yaml's keys")
        data_dir = env.get("DIALTONE_DATA_DIR")
        if not data_dir or data_dir not in _volume_targets(svc):
            problems.append(f"{name}: DIALTONE_DATA_DIR must be a mounted volume")

    if _command(services["worker"]) != ["start"]:
        problems.append("worker command must be ['start']")
    api_cmd = _command(services["api"])
    if api_cmd[:1] != ["serve"] or not (
        {"--host", "--port"} <= set(api_cmd)
        and api_cmd[api_cmd.index("--host") + 1] == "0.0.0.0"
        and api_cmd[api_cmd.index("--port") + 1] == "8000"
    ):
        problems.append("api command must be serve --host 0.0.0.0 --port 8000")
    worker_data = _volume_targets(services["worker"]).get(
        _environment(services["worker"]).get("DIALTONE_DATA_DIR", "")
    )
    api_data = _volume_targets(services["api"]).get(
        _environment(services["api"]).get("DIALTONE_DATA_DIR", "")
    )
    if worker_data is None or worker_data != api_data:
        problems.append("worker and api must share the same data volume")
    return problems


def check_dockerfile(instructions: list[tuple[str, str]]) -> list[str]:
    problems = []
    by_kind: dict[str, list[str]] = {}
    for kind, args in instructions:
        by_kind.setdefault(kind, []).append(args)
    if by_kind.get("FROM", [""])[0] != "python:3.11-slim":
        problems.append("base image must be python:3.11-slim")
    if not by_kind.get("ENTRYPOINT") or _exec_form(by_kind["ENTRYPOINT"][-1]) != ["dialtone"]:
        problems.append('ENTRYPOINT must be ["dialtone"]')
    if not by_kind.get("CMD") or _exec_form(by_kind["CMD"][-1]) != ["start"]:
        problems.append('CMD must be ["start"]')
    user = (by_kind.get("USER") or ["root"])[-1].split(":")[0]
    if user in {"root", "0"}:
        problems.append("the image must run as a non-root USER")
    runs = " && ".join(by_kind.get("RUN", []))
    apt = next((r for r in by_kind.get("RUN", []) if "apt-get install" in r), "")
    for needle in ("--no-install-recommends", "espeak-ng", "libportaudio2", "/var/lib/apt/lists"):
        if needle not in apt:
            problems.append(f"apt-get step is missing {needle}")
    if not re.search(r"pip install --no-cache-dir \.(\s|$)", runs):
        problems.append("the package must be installed with pip install --no-cache-dir .")
    if "download-files" in runs:
        problems.append("no download-files step: the Silero model ships in the wheel")
    copied = " ".join(by_kind.get("COPY", []))
    for needle in ("pyproject.toml", "README.md", "dialtone/", "agents/", "personas/", "trunk"):
        if needle not in copied:
            problems.append(f"COPY is missing {needle}")
    return problems


# --- Tests on the real files --------------------------------------------------------------


def test_livekit_yaml(livekit: dict[str, Any]) -> None:
    assert check_livekit(livekit) == []


def test_sip_yaml_matches_livekit(sip: dict[str, Any], livekit: dict[str, Any]) -> None:
    assert check_sip(sip, livekit) == []


def test_compose_wiring(
    compose: dict[str, Any], livekit: dict[str, Any], sip: dict[str, Any]
) -> None:
    assert check_compose(compose, livekit, sip) == []


def test_dockerfile(dockerfile: list[tuple[str, str]]) -> None:
    assert check_dockerfile(dockerfile) == []


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    entries = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", ".git", "data", "out", ".pytest_cache"} <= entries
    # pyproject.toml names README.md as the readme; the build needs it in the context.
    assert not {"README.md", "*.md", "dialtone", "agents", "personas", "pyproject.toml"} & entries


def test_guide_quotes_the_configured_ports(livekit: dict[str, Any], sip: dict[str, Any]) -> None:
    guide = (ROOT / "docs" / "self-hosting.md").read_text(encoding="utf-8")
    rtc = livekit["rtc"]
    low, high = _port_range(sip["rtp_port"])
    for text in (
        f"{rtc['port_range_start']}-{rtc['port_range_end']}",
        f"{low}-{high}",
        str(sip["sip_port"]),
        str(livekit["port"]),
        str(rtc["tcp_port"]),
        "not run",
    ):
        assert text in guide, f"docs/self-hosting.md does not mention {text!r}"


# --- The checks can fail ------------------------------------------------------------------


def _mutated(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of doc with the dotted path set (value=KeyError deletes it)."""
    copy = deepcopy(doc)
    *parents, leaf = path.split(".")
    node = copy
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[leaf]
    else:
        node[leaf] = value
    return copy


def _renamed(doc: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    copy = deepcopy(doc)
    copy[new] = copy.pop(old)
    return copy


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _renamed(d, "port", "prot"), "unknown key prot"),
        (lambda d: _mutated(d, "rtc.tcp_prot", 7881), "unknown key rtc.tcp_prot"),
        (lambda d: _mutated(d, "redis.adress", "x:1"), "unknown key redis.adress"),
        (lambda d: _mutated(d, "logging.levle", "info"), "unknown key logging.levle"),
        (lambda d: _mutated(d, "debug_handler_port", {"port": 7070}), "debug_handler_port"),
        (lambda d: _mutated(d, "redis", {}), "redis.address is required"),
        (lambda d: _mutated(d, "keys", {"k": "short"}), "shorter than"),
        (lambda d: _mutated(d, "rtc.port_range_end", 40000), "must be below"),
    ],
)
def test_livekit_check_catches(livekit: dict[str, Any], change: Any, expected: str) -> None:
    problems = check_livekit(change(livekit))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _mutated(d, "log_level", "debug"), "unknown key log_level"),
        (lambda d: _renamed(d, "rtp_port", "rtp_ports"), "unknown key rtp_ports"),
        (lambda d: _mutated(d, "api_key", "other"), "not one of livekit.yaml's keys"),
        (lambda d: _mutated(d, "api_secret", "wrong"), "api_secret does not match"),
        (lambda d: _mutated(d, "redis.address", "redis:6380"), "differs from livekit"),
        (lambda d: _mutated(d, "rtp_port", "50000-50100"), "overlaps"),
        (lambda d: _mutated(d, "nat_1_to_1_ip", "203.0.113.7"), "cannot both be set"),
    ],
)
def test_sip_check_catches(
    sip: dict[str, Any], livekit: dict[str, Any], change: Any, expected: str
) -> None:
    problems = check_sip(change(sip), livekit)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _mutated(d, "services.api", KeyError), "services are"),
        (lambda d: _mutated(d, "services.worker.build", KeyError), "worker must build"),
        (lambda d: _mutated(d, "services.api.build.dockerfile", "Other"), "api must build"),
        (lambda d: _mutated(d, "services.worker.command", ["dev"]), "worker command"),
        (lambda d: _mutated(d, "services.api.command", ["serve"]), "api command"),
        (lambda d: _mutated(d, "services.livekit.volumes", []), "must mount ./livekit.yaml"),
        (lambda d: _mutated(d, "services.sip.volumes", []), "must mount ./sip.yaml"),
        (lambda d: _mutated(d, "services.sip.network_mode", "bridge"), "host networking"),
        (
            lambda d: _mutated(d, "services.worker.environment.LIVEKIT_URL", "ws://127.0.0.1:1"),
            "does not use livekit.yaml port",
        ),
        (
            lambda d: _mutated(d, "services.api.environment.LIVEKIT_API_SECRET", "nope"),
            "api: LIVEKIT_API_KEY/SECRET",
        ),
        (lambda d: _mutated(d, "services.api.volumes", ["other:/app/data"]), "same data volume"),
        (lambda d: _mutated(d, "services.redis.command", ["--port", "6380"]), "redis port"),
    ],
)
def test_compose_check_catches(
    compose: dict[str, Any],
    livekit: dict[str, Any],
    sip: dict[str, Any],
    change: Any,
    expected: str,
) -> None:
    problems = check_compose(change(compose), livekit, sip)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('CMD ["start"]', 'CMD ["dev"]', "CMD must be"),
        ('ENTRYPOINT ["dialtone"]', 'ENTRYPOINT ["python"]', "ENTRYPOINT must be"),
        ("USER dialtone", "USER root", "non-root"),
        ("--no-install-recommends ", "", "--no-install-recommends"),
        ("FROM python:3.11-slim", "FROM python:3.12", "python:3.11-slim"),
        ("COPY pyproject.toml README.md ./", "COPY pyproject.toml ./", "README.md"),
    ],
)
def test_dockerfile_check_catches(old: str, new: str, expected: str) -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert old in text
    problems = check_dockerfile(_dockerfile_instructions(text.replace(old, new)))
    assert any(expected in p for p in problems), problems
