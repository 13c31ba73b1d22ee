"""The parts of an inbound call that `agents/receptionist.py` puts together."""
