"""``python -m spanhouse.cli``: the ``spanhouse`` command (the tests and the demo start
``serve`` this way)."""

from spanhouse.cli import main

if __name__ == "__main__":
    main()
