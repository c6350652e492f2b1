"""The applications of ``examples/``, each run against the emulator."""
