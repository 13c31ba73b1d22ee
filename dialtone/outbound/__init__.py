"""The parts of the outbound reminder call (`agents/reminder.py` puts them together)."""
