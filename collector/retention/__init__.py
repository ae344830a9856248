"""Data lifecycle: purging raw rows past their retention, and a chatter's data subject
rights (export everything stored about them, erase their personal data)."""
