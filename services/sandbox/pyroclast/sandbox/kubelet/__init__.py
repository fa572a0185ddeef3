"""Simulated nodes: a pure pod lifecycle (``lifecycle``) and the node agent that applies it."""
