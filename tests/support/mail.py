"""Outside services of the reminders, as real local servers: an SMTP server (aiosmtpd) and an
HTTP server answering the Telegram Bot API's sendMessage."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.live import free_port


class Mail:
    def __init__(self, recipients: list[str], message: EmailMessage) -> None:
        self.recipients = recipients
        self.message = message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content


class MailServer:
    """aiosmtpd on 127.0.0.1 recording every message it accepts."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.mails.append(Mail([str(r) for r in envelope.rcpt_tos], message))
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if address in m.recipients]

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class TelegramServer:
    """A local server playing the Bot API: records sendMessage calls, fails the first few."""

    def __init__(self, token: str, failures: int = 0) -> None:
        self.token = token
        self.failures = failures
        self.calls: list[dict[str, Any]] = []
        self.attempts = 0
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                bot.attempts += 1
                if self.path != f"/bot{bot.token}/sendMessage":
                    status, answer = 404, {"ok": False, "error_code": 404}
                elif bot.attempts <= bot.failures:
                    status, answer = 502, {"ok": False, "error_code": 502}
                else:
                    call = json.loads(raw)
                    bot.calls.append(call)
                    status, answer = 200, {"ok": True, "result": {"message_id": len(bot.calls)}}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TelegramServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
