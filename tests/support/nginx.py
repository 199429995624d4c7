"""The distribution's nginx with deploy/nginx/bedsvc.conf, on loopback ports, for the tests
and for loadtests/http.py.

The configuration is rendered, not rewritten: every value that depends on the server sits on a
line marked `# EDIT` in the shipped file, and `render_config` replaces exactly those values
(failing if one is no longer there), so the tests run the file an operator installs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "bedsvc.conf"
# The operators' monitoring network in the rendered configuration: a loopback address of its
# own, so that a test can send from inside it and from outside (127.0.0.1).
OPERATORS = "127.0.0.5"
NGINX = Path(os.environ.get("BEDSVC_TEST_NGINX", "/usr/sbin/nginx"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Ports:
    http_upstreams: tuple[int, ...]  # bedsvc serve --port, one per instance
    live_upstreams: tuple[int, ...]  # their BEDSVC_LIVE_PORT
    plain: int  # nginx, HTTP (redirects to HTTPS)
    tls: int  # nginx, HTTPS

    @classmethod
    def free(cls, instances: int = 1) -> Ports:
        return cls(
            http_upstreams=tuple(free_port() for _ in range(instances)),
            live_upstreams=tuple(free_port() for _ in range(instances)),
            plain=free_port(),
            tls=free_port(),
        )


def _servers(ports: tuple[int, ...]) -> str:
    return "\n    ".join(f"server 127.0.0.1:{port};" for port in ports)


def render_config(folder: Path, ports: Ports, certificate: Path, key: Path) -> str:
    """deploy/nginx/bedsvc.conf with the `# EDIT` values set for loopback test ports."""
    replacements = {
        "server 127.0.0.1:8000;": _servers(ports.http_upstreams),
        "server 127.0.0.1:8001;": _servers(ports.live_upstreams),
        "/var/cache/nginx/bedsvc": str(folder / "cache"),
        "listen 80;": f"listen 127.0.0.1:{ports.plain};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports.tls} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/beds.example.go.id/fullchain.pem": str(certificate),
        "/etc/letsencrypt/live/beds.example.go.id/privkey.pem": str(key),
        "/var/www/html": str(folder / "acme"),
        "allow 192.0.2.0/24;": f"allow {OPERATORS};",
    }
    text = CONFIG.read_text()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{CONFIG} no longer holds {old!r}: update render_config")
        text = text.replace(old, new)
    return text


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bedsvc test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def main_config(folder: Path, site: Path, workers: int = 1) -> str:
    """nginx.conf around the site: everything nginx writes stays in `folder`."""
    # As root, nginx would switch its workers to `nobody`, who cannot write the test's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes {workers};\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n    access_log off;\n    default_type application/octet-stream;\n"
        f"{temp}    include {site};\n}}\n"
    )


class NginxProcess:
    """nginx in the foreground with the rendered configuration; stop() ends it."""

    def __init__(self, folder: Path, ports: Ports, workers: int = 1) -> None:
        self.folder = folder
        self.ports = ports
        folder.mkdir(parents=True, exist_ok=True)
        self.certificate, self.key = self_signed(folder)
        self.site = folder / "bedsvc.conf"
        self.site.write_text(render_config(folder, ports, self.certificate, self.key))
        self.config = folder / "nginx.conf"
        self.config.write_text(main_config(folder, self.site, workers))
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"https://127.0.0.1:{ports.tls}"

    def add_site(self, text: str) -> None:
        """More configuration in the http {} block, next to bedsvc's (before start)."""
        self.site.write_text(self.site.read_text() + text)

    def check(self) -> None:
        """`nginx -t`: the configuration is valid for this nginx."""
        result = subprocess.run(
            [str(NGINX), "-t", "-c", str(self.config), "-e", str(self.folder / "error.log")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{result.stderr}")

    def start(self) -> None:
        self.check()
        self.process = subprocess.Popen(
            [str(NGINX), "-c", str(self.config), "-e", str(self.folder / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.error_log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.ports.tls), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen within 10 s:\n{self.error_log()}")

    def error_log(self) -> str:
        log = self.folder / "error.log"
        return log.read_text()[-3000:] if log.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def nginx_missing() -> str | None:
    """Why nginx cannot run here, or None."""
    if NGINX.exists() or shutil.which(str(NGINX)):
        return None
    return (
        f"nginx is not installed at {NGINX}: the tests in front of bedsvc need it. Install it "
        "with `scripts/install-system-deps nginx` (`make test` does this when it can), or "
        "point BEDSVC_TEST_NGINX at an nginx binary."
    )


class BedsvcProcess:
    """`python -m bedsvc serve` in a subprocess, as systemd runs it."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bedsvc", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bedsvc exited during start-up:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"bedsvc was not ready within {timeout} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
