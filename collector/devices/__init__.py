"""Agents' computers: enrollment, signing keys, and devices as admins manage them."""
