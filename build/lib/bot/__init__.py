"""lianxin (连心): the running service and everything that speaks a platform's protocol."""

__version__ = "0.1.0"
