"""Who may use the console: named users and their roles, server-side sessions, the
sign-in throttle and the audit log, all kept in dialtone's database.

`users` hashes passwords with argon2id (argon2-cffi) and checks them against
`dialtone.passwords`; `sessions` stores a hash of each browser's random token, so
signing out, a password reset or removing a user ends a session on every replica at
once; `throttle` spaces out failed sign-ins per account and per address; `audit`
records who changed what, and when.
"""
