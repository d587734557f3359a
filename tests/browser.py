"""The real browser every UI test drives: Debian's chromium, headless, through Playwright's
``executable_path`` (no browser download)."""

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
