"""A stand-in component for supervisor tests: a real HTTP server answering /healthz and /readyz.

Run as `python fake_component.py NAME [--not-ready] [--tag TEXT]`; it listens on
`Settings().port(NAME)`, like the real services. `--tag` only marks the command line, so a
test can find its own processes in /proc.
"""

from __future__ import annotations

import argparse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer

from shared.settings import Settings


def _handler(ready: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # A fake gateway serves a dashboard, so the banner names it.
            if self.path in ("/healthz", "/dashboard") or (self.path == "/readyz" and ready):
                status = HTTPStatus.OK
            elif self.path == "/readyz":
                status = HTTPStatus.SERVICE_UNAVAILABLE
            else:
                status = HTTPStatus.NOT_FOUND
            body = b'{"status":"%s"}' % status.phrase.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--not-ready", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    settings = Settings()
    server = HTTPServer((settings.host, settings.port(args.name)), _handler(not args.not_ready))
    print(f"fake {args.name} listening on {settings.base_url(args.name)}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
