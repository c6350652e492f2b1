"""Unit tests of the async core (respx-mocked; no network)."""
