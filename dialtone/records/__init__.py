"""Call records: one row per call, inbound and outbound, and the telephony metrics.

`models` (what a record holds), `store` (the `call_records` table in the campaign
store), `retention` (masking), `recorder` (what the worker uses during a call),
`metrics` (Prometheus), `api` (the `/v1/calls` routes and the LiveKit webhook).
"""
