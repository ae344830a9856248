"""Conversation analytics: the website chat widget's requests, conversations, sales and NPS."""
