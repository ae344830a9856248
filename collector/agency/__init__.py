"""What an admin changes about the agency: creators, chatters and logins (``people``),
settings (``settings``; the read side is ``collector.db.settings``), a sale moved to
another chatter on the record (``sales``), and what the admin pages list
(``listings``).  Nothing here commits: the caller owns the transaction and writes the
audit entry in it (a sale's reassignment writes its own, beside its history row)."""
