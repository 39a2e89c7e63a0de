"""Case files ([audit]): one order's, customer's or ticket's whole story, replayed from the log, with
the hash chains that let anyone check it offline.

- `entries.py`: stored events -> readable, time-ordered entries (pure: the same code builds a case
  and checks an exported one);
- `proof.py`: each stream's events as stored, chained by hash (`stream_proof`, the seam for the
  recorded hashes and checkpoints);
- `verification.py`: checking an exported case file with no database;
- `scope.py`: which streams an order, a customer or a ticket reaches;
- `sla_outcome.py`: each ticket's SLA clocks, judged at the case's moment;
- `build.py`: `build_case`, putting them together.

Nothing here imports interfaces; read models are reached through the ports in `scope.py` and
`sla_outcome.py`.
"""
