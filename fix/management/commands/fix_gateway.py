"""The `fix` process: the FIX gateway on EMSWEB_FIX_PORT until SIGTERM or Ctrl-C."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fix.front import tls_context
from fix.gateway import Gateway


class Command(BaseCommand):
    help = "Run the FIX gateway (FIX 4.4 and FIX 5.0 over FIXT 1.1) on EMSWEB_FIX_PORT."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None, help="instead of EMSWEB_FIX_PORT")

    def handle(self, *args, port: int | None, **options):
        port = port or settings.EMSWEB_FIX_PORT
        if not port:
            raise CommandError("The FIX gateway is off: set EMSWEB_FIX_PORT.")
        tls = None
        if settings.EMSWEB_FIX_TLS_CERT:
            tls = tls_context(
                certificate=settings.EMSWEB_FIX_TLS_CERT,
                key=settings.EMSWEB_FIX_TLS_KEY,
                client_ca=settings.EMSWEB_FIX_TLS_CLIENT_CA,
            )
        gateway = Gateway(
            host=settings.EMSWEB_FIX_HOST, port=port, directory=settings.EMSWEB_FIX_DIR, tls=tls
        )
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        runner = threading.Thread(target=gateway.run, name="fix-stream")
        runner.start()  # it logs "FIX gateway listening on port N" (JSON in production)
        stopping.wait()
        gateway.stop()
        runner.join()
