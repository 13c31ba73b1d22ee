"""`dialtone console`: talk to the receptionist from this machine, by voice or by text."""
