"""Shared fixtures of the integration tests."""

from nats_fixture import NatsServer, nats_server, nats_server_factory

__all__ = ["NatsServer", "nats_server", "nats_server_factory"]
