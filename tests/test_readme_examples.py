"""Every ``spanhouse ...`` example of README.md's ```sh blocks (the CLI's, not ``serve``,
``demo`` or ``config``) runs against the data ``make demo`` sends: the demo's own server
(``spanhouse serve`` with the demo's collector.yaml: the seed's tail sampling), its own shop and
its own traffic generator, run here for a few seconds. ``TRACE_ID`` is the slowest product
page's trace; user-42 (one of the demo's users) views the clearance page, which takes 1.2 s,
so the tail sampler keeps it whatever the dice say."""

from __future__ import annotations

import re
import shlex
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from spanhouse.cli import main
from tests.test_cli_query import _forget_cached_help_options  # noqa: F401  (autouse: no cached help option left for test_docs)

REPO = Path(__file__).resolve().parent.parent
TRAFFIC_S = 8.0
NOT_CLIENT_COMMANDS = ("serve", "demo", "config")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the demo's processes need Linux")


def readme_commands() -> list[str]:
    """The CLI examples of README.md's ```sh blocks, comments cut off."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["spanhouse"] and words[1:2] and words[1] not in NOT_CLIENT_COMMANDS:
                commands.append(shlex.join(words))
    return commands


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's server, shop and traffic for TRAFFIC_S seconds; yields (UI URL, config)."""
    from spanhouse.cli.render import console
    from spanhouse.demo.run import SETTLE_WAIT_S, Demo, DemoOptions, _free_ports
    from spanhouse.demo.traffic import Traffic

    run = Demo(DemoOptions(ui="127.0.0.1:0", data=str(tmp_path_factory.mktemp("demo") / "data")),
               console())
    traffic = None
    try:
        grpc_port, http_port = _free_ports(2)
        run.start_server(grpc_port, http_port)
        config = run.start_shop(grpc_port)
        run.wait_for_server()
        run.wait_for_shop(config)
        traffic = Traffic(config.url("api-gateway"))
        traffic.start()
        slow = httpx.get(config.url("api-gateway") + "/products",
                         params={"category": "clearance"},
                         headers={"Authorization": "Bearer token-user-42"}, timeout=30)
        assert slow.status_code == 200, slow.text
        time.sleep(TRAFFIC_S)
        traffic.stop()
        time.sleep(SETTLE_WAIT_S + 1)
        yield run.ui_url, traffic
    finally:
        if traffic is not None:
            traffic.stop()
        run.stop()


def cli(server: str, args: list[str]):
    return CliRunner().invoke(main, args, env={"SPANHOUSE_SERVER": server},
                              catch_exceptions=False)


def slowest_product_page(server: str) -> str:
    answer = httpx.get(server + "/api/v1/slowest",
                       params={"since": "1h", "service": "api-gateway",
                               "operation": "GET /products", "limit": "1"}).json()
    assert answer["data"], answer
    return answer["data"][0]["trace_id"]


def test_the_readme_has_the_examples():
    commands = readme_commands()
    for verb in ("slowest", "errors", "find", "search", "trace", "bottleneck", "compare",
                 "doctor"):
        assert any(c.split()[1] == verb for c in commands), (verb, commands)


@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs_against_the_demo_data(demo, command):
    server, _ = demo
    trace_id = slowest_product_page(server)
    args = [trace_id if word == "TRACE_ID" else word for word in shlex.split(command)[1:]]
    result = cli(server, args)
    assert result.exit_code == 0, f"{command}\n{result.output}"
    out = result.stdout
    assert out.strip(), command
    verb = args[0]
    if verb in ("find", "search", "slowest"):
        assert re.search(r"[0-9a-f]{32}", out), f"{command} found nothing:\n{out}"
    if verb == "find":
        assert "user.id=user-42" in out
    if verb == "search":
        assert "payment-service" in out
    if verb in ("trace", "bottleneck") and "TRACE_ID" in command:
        assert trace_id in out
    if verb == "errors":
        assert "payment-service" in out and "origin" in out


def test_a_service_name_that_is_not_one_suggests_the_close_names(demo):
    server, _ = demo
    result = cli(server, ["search", "--service", "payment", "--status", "error"])
    assert result.exit_code == 1
    assert result.stderr.strip() == \
        "spanhouse: no service 'payment'; did you mean payment-service?"


def test_the_map_of_the_demo_data_shows_the_lost_context_dashed(demo):
    """The demo drops the trace context on api-gateway's calls to auth-service (on purpose):
    on the service map, in Chromium, that call is a dashed "context lost" edge, not missing."""
    from tests.browser import CHROMIUM, LAUNCH_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs the Debian package chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    server, _ = demo
    edge = "#service-map g[data-edge='api-gateway->auth-service'][data-kind=context_lost]"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(15_000)
        page.goto(f"{server}/map?since=1h")
        page.wait_for_selector(edge, state="attached")
        dash = page.eval_on_selector(f"{edge} path", "p => getComputedStyle(p).strokeDasharray")
        label = page.text_content(edge)
        browser.close()
    assert dash not in ("", "none"), dash
    assert "context lost" in label
