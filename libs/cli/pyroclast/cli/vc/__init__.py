"""The commands of ``vcctl``: Volcano's job, queue, jobflow and jobtemplate commands, plus
``job why`` and ``tap``."""
