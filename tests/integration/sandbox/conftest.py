"""Registers the sandbox API server fixtures for the tests of this directory."""

from apiserver_fixture import ApiServerHandle, apiserver, kubeconfig, start_server

__all__ = ["ApiServerHandle", "apiserver", "kubeconfig", "start_server"]
