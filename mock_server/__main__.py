"""`python -m mock_server`: run the course's mock API. Every Config field is a flag."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence

from .config import AUTO, MIN_TOKEN_LENGTH, Config, bind_refusal, describe
from .contract import CLIENT_KEY_HEADER, CLIENT_KEY_ONCE, TLS_PORT_OFFSET
from .server import run
from .tls import tls_port

# Flags that may be zero; every other number must be positive.
MAY_BE_ZERO = {"port", "tls_port", "seed", "latency", "jitter", "connect_latency", "retry_after"}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m mock_server",
        description="The local mock HTTP API for the HTTP clients course. It binds to loopback (beyond it only "
        "in classroom mode, --classroom), "
        "answers bad input with a 4xx JSON error, and keeps per-client state keyed by the "
        f"{CLIENT_KEY_HEADER} header, {CLIENT_KEY_ONCE}. API docs are served at /docs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for item in dataclasses.fields(Config):
        default = item.default
        env = item.metadata.get("env")
        help_text = item.metadata["help"] + (f" (env {env})" if env else "")
        if env and env in os.environ:
            default = os.environ[env]  # argparse converts string defaults with `type`
        if item.type == "bool":
            cli.add_argument(describe(item.name), action="store_true", help=help_text)
        else:
            cli.add_argument(describe(item.name), type=_TYPES[item.type], default=default, help=help_text)
    return cli


_TYPES = {"int": int, "float": float, "str": str}


def config_from(argv: Sequence[str] | None = None) -> Config:
    cli = parser()
    values = vars(cli.parse_args(argv))
    for name, value in values.items():
        if name == "tls_port" and value == AUTO:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (value < 0 or (value == 0 and name not in MAY_BE_ZERO)):
            cli.error(f"{describe(name)} must be {'at least 0' if name in MAY_BE_ZERO else 'positive'}, got {value}")
    for name in ("port", "tls_port"):
        if values[name] > 65535:
            cli.error(f"{describe(name)} must be at most 65535, got {values[name]}")
    config = Config(**values)
    refusal = bind_refusal(config)
    if refusal is not None:
        cli.error(refusal)
    if config.instructor_token and len(config.instructor_token) < MIN_TOKEN_LENGTH:
        cli.error(f"{describe('instructor_token')} must be at least {MIN_TOKEN_LENGTH} characters (it guards the "
                  "whole class); leave it out to have a random one made")
    derived = tls_port(config)
    if derived is not None and derived > 65535:
        cli.error(f"--port {config.port} + {TLS_PORT_OFFSET} is past 65535: give {describe('tls_port')} "
                  "a port of its own, or 0 to turn HTTPS off")
    return config


def main(argv: Sequence[str] | None = None) -> None:
    run(config_from(argv))


if __name__ == "__main__":
    main()
