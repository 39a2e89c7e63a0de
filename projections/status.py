"""How far each read model has read the log: its generation, position, the head, the lag."""
from __future__ import annotations

from .projector import Projector


def status(projector: Projector) -> list[dict]:
    """Each read model's generation, position, the log head and the lag; a running rebuild's progress."""
    head = projector.head()
    with projector.store.reading() as conn:
        states = projector.store.generations(conn, [m.name for m in projector.models])
    answer = []
    for model in projector.models:
        state = states.get(model.name)
        if state is None:
            continue
        entry = {
            "name": model.name,
            "generation": state.active,
            "position": state.active_position,
            "head": head,
            "lag": max(0, head - state.active_position),
            "rebuilding": None,
        }
        if state.building is not None:
            entry["rebuilding"] = {"generation": state.building, "position": state.building_position or 0}
        answer.append(entry)
    return answer
