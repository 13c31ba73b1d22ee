"""Outbound reminder campaigns: HTTP API, durable store, scheduler and dialer.

Dependencies point inward: nothing here imports the worker. The scheduler writes every
attempt before it asks LiveKit to dispatch the reminder agent, so a crash can lose at
most a dispatch that is then found again (reconciled) by its room name.
"""
