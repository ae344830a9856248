"""What an admin changes about the agency: creators, chatters and logins (``people``),
settings (``settings``: the read side is ``collector.db.settings``), and what the admin
pages and the command line list (``listings``).  Nothing here commits: the caller owns
the transaction and writes the audit entry in it."""
