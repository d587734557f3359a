"""Helpers of the security tests: a real ``spanhouse serve`` started with a config (its
output captured whole, stdout and stderr apart), certificates made here, real SDK spans."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

REPO = Path(__file__).resolve().parents[2]
_LISTEN = re.compile(r"^(OTLP/gRPC|OTLP/HTTP|Zipkin v2|Query/UI|Tempo API)\s+listening on (\S+):(\d+)")
LOOPBACK_FLAGS = ("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--zipkin", "127.0.0.1:0",
                  "--ui", "127.0.0.1:0", "--tempo", "127.0.0.1:0")


@dataclass
class Served:
    proc: subprocess.Popen
    data_dir: Path
    addresses: dict[str, tuple[str, int]] = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def port(self, label: str) -> int:
        return self.addresses[label][1]

    def url(self, label: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port(label)}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.port('OTLP/gRPC')}"

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        time.sleep(0.2)  # the pumps read the last lines
        return code


def start(data_dir: Path, *args: str, env: dict | None = None, timeout: float = 60) -> Served:
    """``spanhouse serve --data DIR ARGS``; returns once it printed its ``store:`` line (every
    listener is up by then)."""
    cmd = [sys.executable, "-m", "spanhouse.cli", "serve", "--data", str(data_dir), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, **(env or {})})
    served = Served(proc, data_dir)
    ready = threading.Event()

    def pump_out() -> None:
        for line in proc.stdout:
            served.stdout.append(line)
            match = _LISTEN.match(line)
            if match:
                served.addresses[match.group(1)] = (match.group(2), int(match.group(3)))
            if line.startswith("store: "):
                ready.set()

    def pump_err() -> None:
        for line in proc.stderr:
            served.stderr.append(line)

    threading.Thread(target=pump_out, daemon=True).start()
    threading.Thread(target=pump_err, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise AssertionError("spanhouse serve did not start:\n" + served.output())
    return served


@pytest.fixture
def serve(tmp_path):
    """Start servers (``serve(config_text=None, *flags)``); all stopped at teardown."""
    started: list[Served] = []

    def factory(config: str | None = None, *flags: str, name: str = "a", **kw) -> Served:
        args = list(flags or LOOPBACK_FLAGS)
        if config is not None:
            path = tmp_path / f"{name}.yaml"
            path.write_text(config)
            args += ["--config", str(path)]
        served = start(tmp_path / f"data-{name}", *args, **kw)
        started.append(served)
        return served

    yield factory
    for served in started:
        served.stop()


def finished_spans(name: str = "secured-span"):
    """One finished SDK span (ReadableSpan list) to hand to an exporter's ``export``."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "security-test"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("tests.security").start_as_current_span(name):
        pass
    provider.shutdown()
    return memory.get_finished_spans()


def trace_id(spans) -> str:
    return f"{spans[0].get_span_context().trace_id:032x}"


def wait_for_trace(base: str, tid: str, headers: dict | None = None, verify=True,
                   timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/api/traces/{tid}", headers=headers or {}, verify=verify, timeout=10)
        last = r
        if r.status_code == 200 and r.json()["data"][0]["spans"]:
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"trace {tid} not stored; last answer: {last.status_code} {last.text[:200]}")


# ---------------------------------------------------------------------------- certificates
@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, cert=None, key=None) -> Path:
    from cryptography.hazmat.primitives import serialization
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spanhouse test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, usage, sans) -> tuple:
        key = _key()
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    server, server_key = leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH, [
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client, client_key = leaf("test-client", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return Pki(_write(directory / "ca.pem", cert=ca),
               _write(directory / "server.pem", cert=server),
               _write(directory / "server-key.pem", key=server_key),
               _write(directory / "client.pem", cert=client),
               _write(directory / "client-key.pem", key=client_key))
