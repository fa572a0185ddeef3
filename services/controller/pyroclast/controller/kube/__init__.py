"""Kubernetes API access: client, resource types, informers, work queue."""
