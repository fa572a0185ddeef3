"""Enqueue: move pending podgroups to Inqueue when the plugins let them in (Volcano's ``enqueue``)."""

from __future__ import annotations

from pyroclast.scheduler.api import JobInfo, QueueInfo
from pyroclast.scheduler.framework import Action, PriorityQueue, Session

__all__ = ["Enqueue"]


class Enqueue(Action):
    """Queues in queue order take turns; each turn admits (or not) one pending job in job order.

    A job without ``minResources`` is always admitted; otherwise the enqueueable votes
    decide (no voter: admitted). Admitted jobs get ``job_enqueued`` and phase Inqueue.
    """

    name = "enqueue"

    def execute(self, ssn: Session) -> None:
        queues: PriorityQueue[QueueInfo] = PriorityQueue(ssn.queue_order_fn)
        seen: set[str] = set()
        jobs_by_queue: dict[str, PriorityQueue[JobInfo]] = {}
        for job in ssn.jobs.values():
            queue = ssn.queues.get(job.queue)
            if queue is None:
                continue
            if queue.uid not in seen:
                seen.add(queue.uid)
                queues.push(queue)
            if job.is_pending():
                jobs_by_queue.setdefault(job.queue, PriorityQueue(ssn.job_order_fn)).push(job)

        while not queues.empty():
            queue = queues.pop()
            jobs = jobs_by_queue.get(queue.uid)
            if jobs is None or jobs.empty():
                continue
            job = jobs.pop()
            if job.min_resources is None or ssn.job_enqueueable(job):
                ssn.job_enqueued(job)
                job.phase = "Inqueue"
            queues.push(queue)
