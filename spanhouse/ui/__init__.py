"""The web UI: one HTML shell and plain ES modules, served by the app on the UI port (no build
step, nothing loaded from the network)."""
