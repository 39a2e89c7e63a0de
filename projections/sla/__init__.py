"""SLA as the read side keeps it: policies, customers' tiers, each ticket's clocks.

These tables are written by the inbox read model (the inbox sorts by SLA due, so both commit
together): book.py is the SLA part of its batch work, clocks.py the pure row shaping, and
queries.py a ticket's clocks and a tenant's policies.
"""
