"""The NATS contract shared by the controller, the scheduler, the binders and the CLI.

Pure parts: :mod:`.names` (every subject, bucket, stream and consumer name, and the KV key
encoding), :mod:`.messages` (every message type), :mod:`.codec` (MessagePack and JSON).
I/O parts: :mod:`.connect`, :mod:`.setup` (JetStream objects), :mod:`.kv` (the shared
cache), :mod:`.decisions` (scheduler to binders and back), :mod:`.audit`, and :mod:`.pull`
(the pull-consumer plumbing underneath).
"""
