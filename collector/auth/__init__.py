"""Who may do what: roles, secrets, API tokens, agent signatures, dashboard accounts.

Flask-free: every function takes what it checks (a header's value, a session mapping,
the raw body) as arguments; ``collector.http.auth`` reads them from the request.
"""
