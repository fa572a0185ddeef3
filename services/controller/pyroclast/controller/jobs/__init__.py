"""The job controller runtime: informers to work queue to the pure core, and back to the API."""
