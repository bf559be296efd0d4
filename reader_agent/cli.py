"""``reader-agent --config PATH``: run the card-reader agent until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from reader_agent import __version__
from reader_agent.agent_service import AgentService
from reader_agent.card_reader import ThaiIdCardReader
from reader_agent.config import AgentConfig, ConfigError, load_config
from reader_agent.http_api import LISTEN_HOST, AgentHttpServer
from reader_agent.monitor import CardPresenceMonitor
from reader_agent.privacy import MaskCidFilter
from reader_agent.server_client import ServerClient

log = logging.getLogger("reader_agent")


def default_config_path() -> Path:
    """Where the config file is looked for when --config is not given."""
    return Path.home() / ".config" / "reader-agent" / "config.toml"


def build_server(config: AgentConfig) -> AgentHttpServer:
    """Wire the card reader, the server client and the HTTP server from ``config``."""
    service = AgentService(
        ThaiIdCardReader(),
        ServerClient(config.server_url, config.api_token, config.server_timeout),
        default_reader=config.default_reader,
        kiosk=config.kiosk,
    )
    return AgentHttpServer(service, config.port, config.allowed_origins)


def setup_logging(verbose: bool) -> None:
    """Log to stderr, with CIDs masked even in messages that come from libraries."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskCidFilter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    """Run the agent; returns the exit status (2 for a bad configuration)."""
    parser = argparse.ArgumentParser(
        prog="reader-agent",
        description="Read Thai ID cards and serve the NHSO-compatible API on 127.0.0.1.",
    )
    parser.add_argument(
        "--config", type=Path, default=default_config_path(), help="TOML configuration file"
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)

    setup_logging(args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"reader-agent: {error}", file=sys.stderr)
        return 2
    try:
        server = build_server(config)
    except OSError as error:
        print(
            f"reader-agent: cannot listen on {LISTEN_HOST}:{config.port}: {error}", file=sys.stderr
        )
        return 1

    monitor = CardPresenceMonitor()
    monitor.start()
    log.info("reader agent %s listening on http://%s:%d", __version__, LISTEN_HOST, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        monitor.stop()
        server.server_close()
    return 0
