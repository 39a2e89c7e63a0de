"""The ticket inbox read model: agents' work queues, sorted by SLA due, with the views' counts.

tables.py holds its tables, projection.py how events change them (with the SLA book of
projections/sla, whose tables move with it), queries.py the pages and counts routes answer.
"""
