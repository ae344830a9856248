"""What the API and the pages share about HTTP: error answers (``errors``), JSON
(``jsonio``), CSV and Excel responses (``exports``), CSRF, security headers, the request
side of ``collector.auth`` (``auth``) and the Flask database extension (``database``)."""
