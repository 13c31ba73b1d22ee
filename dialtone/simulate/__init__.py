"""Simulated phone calls: synthesized caller audio through the real agent pipeline."""
