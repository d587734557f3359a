"""One shop service as a process: ``python -m spanhouse.demo.service NAME``, configured by the
``SPANHOUSE_DEMO_SHOP`` environment variable (see ``spanhouse.demo.shop.ShopConfig``)."""

from __future__ import annotations

import importlib
import sys

from spanhouse.demo.shop import SERVICES, ShopConfig, exit_with_parent, serve_app, stop_on_sigterm


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m spanhouse.demo.service {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    config = ShopConfig.from_env()
    stop_on_sigterm()
    exit_with_parent(config.parent_pid)
    module = importlib.import_module(f"spanhouse.demo.{SERVICES[name]}")
    if name == "email-worker":
        module.run(config)
    else:
        serve_app(module.create_app(config), config.ports[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
