"""A local Kubernetes-compatible API server for the Pyroclast sandbox.

It speaks the Kubernetes REST protocol (as kubectl and client libraries expect) over HTTPS:

- ``app``: configuration, authentication, routing, start/stop (``start_apiserver``).
- ``storage`` / ``store``: SQLite persistence (one writer thread, group commits) and the
  in-memory cache with the global resourceVersion, the event log and watchers.
- ``resources``, ``discovery``, ``openapi``, ``tables``/``printers``: what is served and how it
  is described (discovery, OpenAPI v3, Table columns).
- ``registry`` (create/update), ``patching`` (patch, server-side apply), ``deletion``,
  ``subresources``, ``managed`` (managedFields), ``strategies``, ``typecheck``, ``plugins``:
  the semantics of the verbs.
- ``crds``, ``crd_lifecycle``: custom resources. ``admission``: admission webhooks.
- ``gc``, ``disruption``: the in-process controllers (garbage collection, namespaces, PDBs).
- ``rest``, ``watch``, ``logs``, ``reviews``, ``media``, ``protobuf``, ``conversion``: HTTP.
- ``testing``: run a server on a background thread (tests and tools).
"""
