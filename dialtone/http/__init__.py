"""dialtone's one HTTP server: a router per resource, composed by `server.create_app`.

Nothing is imported here, so `dialtone --help` does not pay for FastAPI.
"""
