"""The mail quarantine read model: each tenant's quarantined mail, held or released, for an admin to list.

`tables` holds its table, `projection` how events change it, `queries` the list. The raw bytes
are not here: they stay in the `QuarantinedMail` aggregate, which answers a single mail.
"""
