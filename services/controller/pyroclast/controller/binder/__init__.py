"""The binder: applies the scheduler's decisions (bind, evict, podgroup status) to the API."""
