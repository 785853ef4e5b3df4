"""Every exchange ccxt speaks, behind the Venue protocol (adapter.py)."""
