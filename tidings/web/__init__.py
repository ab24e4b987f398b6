"""The server: `tidings serve`."""
