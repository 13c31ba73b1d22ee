"""`python -m tests.livekit_double`: the stand-in LiveKit server on its own, for a developer.

It lets `dialtone dev`, `dialtone start`, `dialtone doctor` and `dialtone trunks plan|apply`
be tried on a laptop with no LiveKit account: the worker registers (nothing ever calls
it), trunks and dispatch rules are created in memory (forgotten on exit). It is NOT
LiveKit: no media, no SIP, no phone calls; every line it prints says so.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .double import DEFAULT_KEY, DEFAULT_SECRET, LiveKitDouble

BANNER = "*** NOT LIVEKIT: dialtone's test stand-in. No media, no SIP, no calls. ***"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.livekit_double",
        description="Serve dialtone's LiveKit stand-in (NOT LiveKit) until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7880, help="0: any free port")
    parser.add_argument("--api-key", default=DEFAULT_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_SECRET)
    options = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"[not LiveKit] {line}", flush=True)

    double = LiveKitDouble(
        options.api_key, options.api_secret, host=options.host, port=options.port
    )
    double.workers.announce = say
    try:
        double.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {options.host}:{options.port} ({exc.strerror}); "
            "pick another with --port",
            file=sys.stderr,
        )
        return 1
    url = f"http://{options.host}:{double.port}"
    print(BANNER, flush=True)
    print("Put these in .env (or export them), then try dialtone dev / doctor / trunks plan:")
    print(f"LIVEKIT_URL={url}")
    print(f"LIVEKIT_API_KEY={options.api_key}")
    print(f"LIVEKIT_API_SECRET={options.api_secret}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    double.stop()
    say("stopped; everything it held is forgotten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
