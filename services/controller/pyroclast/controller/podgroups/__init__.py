"""The async shell of the PodGroup controller (see `pyroclast.controller.podgroup` for its core)."""
