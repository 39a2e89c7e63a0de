"""Event records made from stored JSON match what the domain says of the same events."""
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerdesk.application.event_views import event_id_text
from ledgerdesk.domain.audit import event_id

pytestmark = pytest.mark.unit


@given(version=st.integers(1, 10**9))
def test_the_fast_event_id_is_the_domain_event_id(version):
    aggregate_id = uuid4()
    assert event_id_text(str(aggregate_id), version) == str(event_id(aggregate_id, version))
