"""The agent programs (`agents/*.py`), loaded the way dialtone's simulator loads them."""

from dialtone.programs import load_program

receptionist = load_program("receptionist")
reminder = load_program("reminder")
