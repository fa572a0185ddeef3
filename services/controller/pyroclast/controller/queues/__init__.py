"""The async shell of the Queue controller (see `pyroclast.controller.queue` for its core)."""
