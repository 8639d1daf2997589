"""One gateway worker for the end-to-end run: ``python -m bench.server PORT READY_FILE``.

What ``isogw serve`` runs (``create_app`` with the aiokafka publisher, the outbox relay
and the outbound consumer), served by uvicorn with uvloop and httptools on a socket of
its own bound with ``SO_REUSEPORT``: N workers on one port, and the kernel spreads the
connections over them (DESIGN.md §6: one process per core). Settings come from the
``GATEWAY_*`` variables; the temporary API key of the run arrives as its stored record
(``BENCH_API_KEY_RECORD``: id and hash, never the key) and is kept in memory only, as
``isogw dev`` does. READY_FILE is created once the server accepts connections.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import uvicorn
import uvloop

from gateway.api.app import create_app
from gateway.kafka import AioKafkaPublisher, KafkaConfig
from gateway.settings import Settings
from gateway.tenants import ApiKey, TenantRegistry


def reuseport_socket(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


async def serve(port: int, ready: Path) -> None:
    settings = Settings.from_env()
    assert settings.tenants_dir is not None
    tenant = os.environ["BENCH_TENANT"]
    record = ApiKey.model_validate_json(os.environ["BENCH_API_KEY_RECORD"])
    tenants = TenantRegistry.load(settings.tenants_dir).with_extra_key(tenant, record)
    kafka = KafkaConfig.from_env()
    app = create_app(
        settings, tenants, publisher=AioKafkaPublisher(kafka), kafka=kafka, freeze_heap=True
    )
    config = uvicorn.Config(
        app, http="httptools", loop="uvloop", log_level="warning", access_log=False, backlog=4096
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[reuseport_socket(port)]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        ready.write_text(str(os.getpid()))
    await task


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.server PORT READY_FILE", file=sys.stderr)
        return 2
    uvloop.run(serve(int(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
