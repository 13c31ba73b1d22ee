# dialtone image: the agent worker (`dialtone start`, the default) and the campaigns API
# (`dialtone serve ...`). docker-compose.yml builds it for both services.
#
# The only network use at build time is apt and pip. Nothing is downloaded at run time
# either: the Silero VAD model ships inside the livekit-plugins-silero wheel, so
# `dialtone download-files` is not needed.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DIALTONE_AGENTS_DIR=/app/agents

# espeak-ng: the offline voice. libportaudio2: sounddevice, which livekit-agents imports.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libportaudio2 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system dialtone \
    && useradd --system --gid dialtone --create-home --home-dir /home/dialtone dialtone

WORKDIR /app

# Install the package first so code-only changes to personas/trunks reuse this layer.
# README.md is copied because pyproject.toml names it as the package's readme.
COPY pyproject.toml README.md ./
COPY dialtone/ ./dialtone/
RUN pip install --no-cache-dir .

# What a deployer edits, read from the working directory: the agent programs
# (agents/receptionist.py, agents/reminder.py), the personas (DIALTONE_PERSONA_DIR
# defaults to ./personas) and the trunk files. `trunk[s]` is a wildcard so the build still works while trunks/ is empty or
# absent from a checkout (BuildKit, the default builder, accepts a wildcard with no match).
COPY agents/ ./agents/
COPY personas/ ./personas/
COPY trunk[s] ./trunks/

# The SQLite database goes to /app/data (compose mounts a named volume there). Creating it
# owned by the runtime user lets a fresh named volume inherit that ownership.
RUN mkdir -p /app/data && chown dialtone:dialtone /app/data

USER dialtone

ENTRYPOINT ["dialtone"]
CMD ["start"]
