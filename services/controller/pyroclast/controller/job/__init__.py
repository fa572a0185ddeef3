"""The Volcano Job controller's decisions as pure functions over models.

- `pods`, `naming`: the pods, claims and names a job owns
- `podgroup`: its PodGroup and the PodGroup's minimum resources
- `initiate`: first status, plugin objects, claims and PodGroup before a sync
- `state`: the phase state machine turning an action into a `state.Plan`
- `policies`: watch events to requests, lifecycle policies to actions
- `decide`: a request to the action and the plan that carries it out
- `dependson`: task start ordering
- `plugins`: env, svc, ssh, pytorch, mpi, tensorflow, hcclrank, ray
- `spec`, `status`, `timeutil`: field access with Volcano's defaults, counts, Go durations
"""
