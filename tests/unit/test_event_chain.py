"""The hash chain's rules, on random streams: untouched chains check; one event altered, removed or
slipped in is found, and found where it happened, whatever else the stream holds."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledgerdesk.domain.event_chain import GENESIS, StoredLink, check_stream, event_hash

STREAM = "7d3f0b8e-0000-4000-8000-000000000001"


def chained(states: list[bytes]) -> list[StoredLink]:
    links, prev = [], GENESIS
    for version, state in enumerate(states, start=1):
        prev = event_hash(prev, STREAM, version, "Ticket.Noted", state)
        links.append(StoredLink(version, "Ticket.Noted", state, prev))
    return links


streams = st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=30)


@given(streams)
def test_an_untouched_stream_checks_and_its_head_is_its_last_hash(states):
    links = chained(states)
    breaks, head = check_stream(STREAM, links, [link.version for link in links])
    assert breaks == [] and head == links[-1].recorded_hash


@given(streams, st.data())
def test_an_altered_event_is_found_at_its_version_alone(states, data):
    links = chained(states)
    k = data.draw(st.integers(0, len(links) - 1))
    old = links[k]
    links[k] = StoredLink(old.version, old.topic, old.state + b"!", old.recorded_hash)
    breaks, _ = check_stream(STREAM, links, [link.version for link in links])
    assert [(b.version, b.kind) for b in breaks] == [(old.version, "altered")]


@given(streams, st.data())
def test_a_removed_event_is_found_at_its_version(states, data):
    links = chained(states)
    k = data.draw(st.integers(0, len(links) - 1))
    recorded = [link.version for link in links]
    del links[k]
    breaks, _ = check_stream(STREAM, links, recorded)
    assert [(b.version, b.kind) for b in breaks] == [(k + 1, "removed")]


@given(streams)
def test_an_event_slipped_in_at_the_end_is_found(states):
    links = chained(states)
    recorded = [link.version for link in links]
    forged = StoredLink(len(links) + 1, "Ticket.Noted", b"forged", None)
    breaks, _ = check_stream(STREAM, [*links, forged], recorded)
    assert [(b.version, b.kind) for b in breaks] == [(forged.version, "inserted")]
