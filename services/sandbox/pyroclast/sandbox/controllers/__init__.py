"""The sandbox's stand-ins for kube-controller-manager and kube-scheduler.

Pure planners (``replicaset``, ``deployment``, ``nodelifecycle``, ``binder``) and the process
that runs them against the API server (``manager``).
"""
