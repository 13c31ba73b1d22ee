"""The keyless offline profile: local speech recognition, speech synthesis and dialogue.

Everything here runs on the machine with no account and no network: pocketsphinx
recognises the caller against a small language model built from the persona's phrases,
espeak-ng speaks, and a rule-based dialogue stands in for the LLM (offline mode has no
LLM). Submodules are imported lazily by the pipeline so the cloud profile never pays for
them unless it falls back.
"""
