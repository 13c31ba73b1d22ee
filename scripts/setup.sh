#!/usr/bin/env bash
# Installs what dialtone needs on a fresh Debian/Ubuntu machine, then the package itself.
# Debian packages: espeak-ng (the offline voice and the simulated caller's voice),
# libportaudio2 (`dialtone console` uses sounddevice, which needs PortAudio)
# and tmux (the console tests drive a terminal).
set -euo pipefail
venv="${1:-.venv}"

need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
dpkg -s libportaudio2 >/dev/null 2>&1 || need+=(libportaudio2)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# postgresql: the campaign tests run on SQLite AND PostgreSQL (tests/postgres.py starts a
# throwaway cluster from these binaries; the package's own cluster is not used).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# chromium + chromium-driver: the web console's browser tests (tests/console_web) drive
# Debian's Chromium with Selenium; nothing downloads a browser of its own.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need[*]}"
  # Another apt (unattended-upgrades on a fresh VM) may hold the dpkg lock: wait for it.
  lock=(-o DPkg::Lock::Timeout=120)
  $sudo apt-get "${lock[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: python3 is $(python3 -V 2>&1); dialtone needs Python 3.11+ (install python3.11 and make it python3)" >&2
  exit 1
}
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -c "import dialtone, livekit.agents, pocketsphinx" \
  || { echo "setup failed: the Python packages did not install" >&2; exit 1; }
