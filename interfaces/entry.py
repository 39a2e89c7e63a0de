"""The `ledgerdesk` command's entry point: the environment the library reads at import, made ours.

eventsourcing reads TZINFO_TOPIC from the environment when it is first imported (every other
setting of it comes from our Settings, see Settings.eventsourcing_env): an unresolvable value
would end every command with a traceback before anything could say why, and ledgerdesk's event
times are UTC whatever it says. So it is dropped before anything imports the library.
"""
from __future__ import annotations

import os
import signal

LIBRARY_IMPORT_TIME_VARIABLES = ("TZINFO_TOPIC",)


def main() -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `ledgerdesk ... | head` ends quietly, as shell tools do
    for name in LIBRARY_IMPORT_TIME_VARIABLES:
        os.environ.pop(name, None)
    from .cli import main as cli_main

    return cli_main()
