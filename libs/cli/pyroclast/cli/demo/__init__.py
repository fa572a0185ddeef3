"""``pyroclast demo`` (``make demo``): what Pyroclast does today, in under a minute.

1. Decode every Volcano example manifest (``shared/volcano-examples`` beside the repository)
   with Pyroclast's models and summarise the result (``examples``).
2. Start the sandbox in a temporary folder, run a small workload on its simulated nodes (a
   Deployment of three replicas, then scaled to one, and standalone pods that exit 0, exit 2,
   run for an annotated time, or do not fit their node), show the pods live, check every
   outcome (``workload``).
3. In the same sandbox, Volcano jobs (``jobs``): the invalid examples are denied by the webhook
   with Volcano's messages (``invalid``); Volcano's example job (``job.yaml``, given a run time)
   is admitted with Volcano's defaults, gets its PodGroup and pods, is enqueued and bound as a
   gang and runs to Completed; a gang that does not fit beside another job waits with its
   PodGroup Unschedulable, and ``vcctl job why`` tells why in plain words from the live
   scheduler (``why``), then it runs once the first one has finished.
4. Volcano's JobFlow example (``flows``): the JobTemplates a..e (their ``sleep 10s`` cut to
   ``sleep 1s``) and the flow a -> b -> (c, d) -> e, each job created once the jobs it depends
   on are Completed, until the flow is Succeed; then ``vcctl jobflow list``.

``vcctl job list``, ``vcctl queue list`` and ``vcctl tap`` (the jobs' audit trail, trimmed)
show the result; then everything is torn down and a summary table printed (``runner``).

Parts that need the examples are skipped, with a note, when the folder is absent. The exit
code is 0 only if every expected outcome happened.
"""

from pyroclast.cli.demo.runner import main

__all__ = ["main"]
