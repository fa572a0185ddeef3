"""The scheduler service: a cache fed from the KV buckets, the session loop, the conf watcher.

The service never talks to the Kubernetes API: it reads the records the controller
publishes and publishes decisions that binders apply.
"""
