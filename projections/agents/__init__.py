"""The agents' workload read model: each tenant's agents (profile, presence, capacity) and the
tickets each has open, for a supervisor's view and for routing to read.

`tables` holds its tables, `projection` how Agent and Ticket events change them, `queries` the
list and one agent's open tickets.
"""
