"""The hosted EMS's trading API as a venue (adapter.py)."""
