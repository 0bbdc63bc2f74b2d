"""Local simulators of the chat platforms, used by the tests and the sandbox."""
