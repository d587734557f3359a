"""Listeners close connections that hold a slot for nothing (``spanhouse.listeners``), and a
request body that does not come is answered, not waited for (``receivers/http_body``).

Real sockets against real servers: uvicorn built by ``uvicorn_server`` and a ``grpc.aio`` server
with ``grpc_server_options``, on ephemeral loopback ports, with the timeouts shortened through
their parameters (the defaults are seconds to a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
import time

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.errors import ConfigError, InvalidInput, PayloadTooLarge
from spanhouse.listeners import GRPC_MAX_CONCURRENT_RPCS, grpc_server_options, uvicorn_server
from spanhouse.receivers.http_body import read_body

HEADER_TIMEOUT = 0.5
IDLE_TIMEOUT = 0.8


async def _body(request: Request) -> Response:
    """Echo the body's length, read as the receivers read it (short timeouts)."""
    try:
        body = await read_body(request, 1000, timeout=1.5, gap_timeout=0.4)
    except (InvalidInput, PayloadTooLarge) as exc:
        return PlainTextResponse(str(exc), status_code=413 if isinstance(exc, PayloadTooLarge) else 400)
    return PlainTextResponse(str(len(body)))


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3 * HEADER_TIMEOUT)
    return PlainTextResponse("slow")


APP = Starlette(routes=[Route("/", lambda r: PlainTextResponse("ok")),
                        Route("/slow", _slow), Route("/body", _body, methods=["POST"])])


@contextlib.contextmanager
def http_server(**kw):
    """``uvicorn_server(APP, ...)`` running in a thread of its own; yields its port."""
    kw = {"header_timeout": HEADER_TIMEOUT, "idle_timeout": IDLE_TIMEOUT, **kw}
    server = uvicorn_server(APP, "127.0.0.1", 0, **kw)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(15)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (head and Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def closed_by_server(sock: socket.socket, within: float) -> tuple[bool, bytes]:
    """Read until EOF; (True, what came) if the server closed the socket within ``within`` s."""
    sock.settimeout(within)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return False, data
    except ConnectionResetError:
        pass
    return True, data


def test_300_silent_connections_are_closed_after_the_header_timeout_and_requests_still_served():
    with http_server() as port:
        socks = [connect(port) for _ in range(300)]
        started = time.monotonic()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"  # not starved
        for sock in socks:
            closed, data = closed_by_server(sock, max(0.1, started + 5 - time.monotonic()))
            assert closed and data == b""
            sock.close()
        assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9


def test_a_trickled_request_head_is_closed_at_the_header_timeout_not_kept_alive_by_bytes():
    with http_server() as port:
        sock = connect(port)
        started = time.monotonic()
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
        sock.settimeout(0.05)
        closed_at = None
        for byte in head:  # one byte every 20 ms: a slowloris, never finishing the head
            try:
                sock.send(bytes([byte]))
                if sock.recv(1) == b"":
                    closed_at = time.monotonic()
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            time.sleep(0.02)
        sock.close()
        assert closed_at is not None and closed_at - started < HEADER_TIMEOUT + 3.0


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_one():
    with http_server() as port:
        sock = connect(port)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert read_response(sock).endswith(b"ok")
        answered = time.monotonic()
        closed, _ = closed_by_server(sock, 5)
        waited = time.monotonic() - answered
        assert closed and IDLE_TIMEOUT * 0.9 <= waited < IDLE_TIMEOUT + 3.0


def test_a_slow_handler_is_not_cut_by_the_header_timeout():
    with http_server() as port:
        assert httpx.get(f"http://127.0.0.1:{port}/slow", timeout=10).text == "slow"


def test_concurrency_limit_answers_503_then_recovers_when_silent_sockets_are_closed():
    with http_server(limit_concurrency=10) as port:
        socks = [connect(port) for _ in range(10)]
        time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 503
        for sock in socks:
            assert closed_by_server(sock, 5)[0]
            sock.close()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200


def test_a_body_shorter_than_its_content_length_is_answered_400_and_the_connection_closed():
    with http_server() as port:
        sock = connect(port)
        started = time.monotonic()
        sock.sendall(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        sock.settimeout(5)
        answer = read_response(sock)
        answered = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"10 of 100 bytes came" in answer
        assert 0.3 <= answered < 4.0
        # the client goes on trickling the body nobody reads: closed at the header timeout
        closed_at = None
        for _ in range(100):
            try:
                sock.send(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            time.sleep(0.05)
        sock.close()
        assert closed_at is not None and closed_at - started < answered + HEADER_TIMEOUT + 3.0


def test_a_body_trickled_past_the_total_timeout_is_answered_400():
    with http_server() as port:
        sock = connect(port)
        started = time.monotonic()
        sock.sendall(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n")
        answered = threading.Event()

        def trickle() -> None:  # a byte every 50 ms: within the gap, never done in 1.5 s
            with contextlib.suppress(OSError):
                while not answered.is_set():
                    sock.send(b"x")
                    time.sleep(0.05)
        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        sock.settimeout(5)
        answer = read_response(sock)
        answered.set()
        sender.join(2)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 400") and b"not complete after 1.5s" in answer
        assert 1.4 <= time.monotonic() - started < 5


def test_bodies_within_the_limits_are_read_whole():
    with http_server() as port:
        url = f"http://127.0.0.1:{port}/body"
        assert httpx.post(url, content=b"y" * 1000, timeout=5).text == "1000"
        assert httpx.post(url, content=b"y" * 1001, timeout=5).status_code == 413

        def chunks():  # chunked, with pauses shorter than the gap
            for _ in range(4):
                yield b"z" * 10
                time.sleep(0.1)
        assert httpx.post(url, content=chunks(), timeout=5).text == "40"


def test_ssl_settings_are_passed_to_uvicorn(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with http_server(ssl={"ssl_certfile": str(cert), "ssl_keyfile": str(key)}) as port:
        context = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"https://127.0.0.1:{port}/", verify=context, timeout=5).text == "ok"
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    with pytest.raises(ConfigError, match="ssl_certfiel"):
        uvicorn_server(APP, "127.0.0.1", 0, ssl={"ssl_certfiel": str(cert)})


# -------------------------------------------------------------------------------------- gRPC
@contextlib.contextmanager
def grpc_server(**kw):
    """A ``grpc.aio`` server with ``grpc_server_options`` and one unary echo method."""
    ready, holder = threading.Event(), {}

    async def echo(request: bytes, context) -> bytes:
        return request

    async def main() -> None:
        server = grpc.aio.server(options=grpc_server_options(1024, **kw),
                                 maximum_concurrent_rpcs=GRPC_MAX_CONCURRENT_RPCS)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.Echo", {
            "Echo": grpc.unary_unary_rpc_method_handler(echo)}),))
        holder["port"] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        holder["stop"] = asyncio.Event()
        ready.set()
        await holder["stop"].wait()
        await server.stop(0)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10)
    loop_stop = holder["stop"]
    try:
        yield holder["port"]
    finally:
        loop_stop._loop.call_soon_threadsafe(loop_stop.set)  # type: ignore[attr-defined]
        thread.join(15)


def test_grpc_connection_idle_past_max_connection_idle_is_closed():
    with grpc_server(max_connection_idle_s=1.0) as port:
        states: list[grpc.ChannelConnectivity] = []
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            channel.subscribe(states.append, try_to_connect=False)
            echo = channel.unary_unary("/t.Echo/Echo")
            assert echo(b"hi", timeout=5, wait_for_ready=True) == b"hi"
            answered = time.monotonic()

            def wait_for(state: grpc.ChannelConnectivity) -> None:
                # the subscription's callbacks come from a thread of their own: poll
                deadline = time.monotonic() + 6
                while (not states or states[-1] != state) and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert states and states[-1] == state, states
            wait_for(grpc.ChannelConnectivity.READY)
            # GOAWAY: the channel goes idle (it reconnects only for the next call)
            wait_for(grpc.ChannelConnectivity.IDLE)
            assert time.monotonic() - answered >= 0.8
            assert echo(b"again", timeout=5, wait_for_ready=True) == b"again"


def test_grpc_message_over_the_limit_is_resource_exhausted():
    with grpc_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary("/t.Echo/Echo")
        assert echo(b"x" * 1000, timeout=5) == b"x" * 1000
        with pytest.raises(grpc.RpcError) as err:
            echo(b"x" * 2000, timeout=5)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_grpc_silent_socket_is_closed_after_the_handshake_timeout():
    with grpc_server(handshake_timeout_s=0.5) as port:
        socks = [connect(port) for _ in range(50)]
        started = time.monotonic()
        for sock in socks:
            closed, _ = closed_by_server(sock, max(0.1, started + 5 - time.monotonic()))
            assert closed
            sock.close()
        assert time.monotonic() - started >= 0.4


def test_grpc_options_keep_the_servers_settings():
    options = dict(grpc_server_options(4 * 1024 * 1024))
    assert options["grpc.max_receive_message_length"] == 4 * 1024 * 1024
    assert options["grpc.so_reuseport"] == 0
    for name in ("grpc.max_connection_idle_ms", "grpc.max_connection_age_ms",
                 "grpc.max_connection_age_grace_ms", "grpc.max_concurrent_streams",
                 "grpc.http2.min_ping_interval_without_data_ms", "grpc.server_handshake_timeout_ms"):
        assert options[name] > 0
