"""Hot swap: apply a reload, and carry it to every worker through the control file.

A reload loads the new model(s) off the event loop, warms them up, then switches the routing
with one assignment, so no request fails. With several uvicorn workers, the worker that got
``POST /admin/reload`` writes the spec with a new *generation* number to
``<state_dir>/reload.json``; every other worker follows that file, applies the spec and
acknowledges with ``ack-<pid>``, and the first one answers once all have switched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .state import Routing, ServingState
from .validation import payload_error

CONTROL_FILE = "reload.json"
FOLLOW_INTERVAL = 0.1
ACK_TIMEOUT = 60.0


async def apply(state: ServingState, spec: dict[str, Any], generation: int) -> None:
    """Load the new model(s) off the loop, then switch with one assignment: no request fails.

    ``spec``: ``bundle`` and, when given, ``model`` (the hosted model to swap; default the
    first), ``challenger_bundle``, ``canary_percent``, ``shadow`` (what is left out keeps its
    current value). A hosted model that is not loaded only takes the spec for its next load."""
    async with state.load_lock:  # not while the same model loads on demand
        await _apply(state, spec, generation)


async def _apply(state: ServingState, spec: dict[str, Any], generation: int) -> None:
    hosted = state.named(spec["model"]) if spec.get("model") else state.default()
    has_challenger = bool(spec.get("challenger_bundle", hosted.challenger_bundle))
    canary = spec.get("canary_percent", hosted.canary_percent) if has_challenger else 0.0
    shadow = spec.get("shadow", hosted.shadow) if has_challenger else False
    if canary and shadow:
        raise payload_error("choose canary_percent or shadow, not both", "shadow")
    old = hosted.routing
    if old is None:
        hosted.configure(spec)
        hosted.generation = generation
        write_ack(state, generation)
        return
    champion = await asyncio.to_thread(state.load, spec["bundle"])
    await asyncio.to_thread(champion.warm_up)  # the first request after the switch is not slow
    challenger = old.challenger
    if "challenger_bundle" in spec:
        challenger = None
        if spec["challenger_bundle"]:
            challenger = await asyncio.to_thread(state.load, spec["challenger_bundle"])
    hosted.configure(spec)
    state.attach(champion, "champion", hosted.batching)
    if challenger is not None and challenger is not old.challenger:
        state.attach(challenger, "challenger", hosted.batching)
    new = Routing(champion, challenger, canary, shadow, generation)
    state.start_models(new)
    hosted.routing = new  # the switch: requests that already hold `old` finish on it
    hosted.generation = generation
    state.spawn(state.stop_models(old, keep=(challenger,)))
    write_ack(state, generation)


async def reload(state: ServingState, spec: dict[str, Any]) -> tuple[int, int]:
    """Apply ``spec`` here and (with several workers) everywhere: (generation, workers switched)."""
    async with state.reload_lock:
        generation = max(state.generation(), control_generation(state)) + 1
        await apply(state, spec, generation)
        if state.workers > 1 and state.state_dir is not None:
            write_control(state, {**spec, "generation": generation})
            return generation, await wait_for_workers(state, generation)
        return generation, 1


def control_path(state: ServingState) -> Path | None:
    return state.state_dir / CONTROL_FILE if state.state_dir is not None else None


def control_generation(state: ServingState) -> int:
    path = control_path(state)
    if path is None or not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text()).get("generation", 0))
    except (ValueError, OSError):
        return 0


def write_control(state: ServingState, spec: dict[str, Any]) -> None:
    path = control_path(state)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(spec))
    os.replace(tmp, path)


def write_ack(state: ServingState, generation: int) -> None:
    if state.state_dir is None:
        return
    with contextlib.suppress(OSError):
        state.state_dir.mkdir(parents=True, exist_ok=True)
        (state.state_dir / f"ack-{os.getpid()}").write_text(str(generation))


async def wait_for_workers(
    state: ServingState, generation: int, timeout: float = ACK_TIMEOUT
) -> int:
    deadline = time.monotonic() + timeout
    while True:
        switched = 0
        for ack in state.state_dir.glob("ack-*"):
            with contextlib.suppress(ValueError, OSError):
                switched += int(ack.read_text() or 0) >= generation
        if switched >= state.workers or time.monotonic() > deadline:
            return switched
        await asyncio.sleep(0.05)


async def follow_control_file(state: ServingState) -> None:
    """Other workers' reloads reach this worker through the control file."""
    asyncio.current_task().set_name("control-follower")
    path = control_path(state)
    while True:
        await asyncio.sleep(FOLLOW_INTERVAL)
        generation = control_generation(state)
        if generation <= state.generation():
            continue
        async with state.reload_lock:
            if generation <= state.generation():
                continue
            try:
                spec = json.loads(path.read_text())
                await apply(state, spec, generation)
            except Exception as err:  # noqa: BLE001 - keep serving the current model
                state.generation_floor = generation  # do not retry a broken bundle forever
                print(f"mlops serving: reload to generation {generation} failed: {err}", flush=True)
