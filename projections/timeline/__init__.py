"""The customer timeline read model: everything about one customer across channels, and who
owns an email, phone or channel user id."""
