"""Read models built from the event log (inbox, timeline, SLA, analytics).

May import the domain and application; must not import interfaces.
"""
