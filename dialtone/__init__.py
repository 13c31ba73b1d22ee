"""dialtone: phone calls for LiveKit voice agents."""

__version__ = "0.1.0"
