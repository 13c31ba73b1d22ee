"""The call parts every agent program shares, inbound or outbound.

How a call is ended, how the agent leaves a call it handed to a human, and the transfer
desk of one real call. Both `inbound` and `outbound` build on these; neither imports the
other.
"""
