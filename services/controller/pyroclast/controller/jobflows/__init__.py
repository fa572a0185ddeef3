"""The async shell of the JobFlow and JobTemplate controllers (see `pyroclast.controller.jobflow`)."""
