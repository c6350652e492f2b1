"""The blocking context stream: a context manager and iterator, and ``get_final_context()``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from recallrai import RecallrAI, Session
from recallrai.emulator import Emulator
from recallrai.exceptions import SessionNotFoundError, StreamError
from recallrai_sync import _runtime


def poll(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture(params=["aiohttp", "httpx"])
def client(request: pytest.FixtureRequest, recallrai_emulator: Emulator) -> Iterator[RecallrAI]:
    emu = recallrai_emulator
    with RecallrAI(
        emu.api_key,
        emu.project_id,
        base_url=emu.base_url,
        transport=request.param,
        max_retries=0,
    ) as sync_client:
        yield sync_client


@pytest.fixture
def session(client: RecallrAI) -> Session:
    session = client.create_user("streamer").create_session()
    session.add_message("user", "hi")
    return session


def test_get_context_stream_returns_the_documented_stream(session: Session) -> None:
    stream = session.get_context_stream(include_system_prompt=False)
    assert isinstance(stream, _runtime.ContextStream)
    assert iter(stream) is iter(stream)  # one generator: plain ``for`` costs nothing extra
    stream.close()


def test_with_block_iterates_to_the_final_context(
    session: Session, recallrai_emulator: Emulator
) -> None:
    expected = session.get_context(last_n_messages=1)
    with session.get_context_stream(last_n_messages=1) as stream:
        events = [event for event in stream]
    assert [event.is_final for event in events] == [False, False, False, True]
    assert events[-1] == expected
    assert stream.get_final_context() == expected  # again, once the stream is done
    poll(lambda: recallrai_emulator.streams_completed == 1)
    assert recallrai_emulator.streams_disconnected == 0


def test_leaving_a_with_block_early_drops_the_connection_at_once(
    session: Session, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    emu.hold_streams()
    try:
        with session.get_context_stream(include_system_prompt=False) as stream:
            for event in stream:
                assert event.is_final is False
                break
            assert emu.streams_disconnected == 0
            kept = stream  # still referenced: only leaving the block closes it
        poll(lambda: emu.streams_disconnected == 1)

        with (
            pytest.raises(KeyError),
            session.get_context_stream(include_system_prompt=False) as stream,
        ):
            next(stream)
            raise KeyError("the caller's own error")
        poll(lambda: emu.streams_disconnected == 2)
    finally:
        emu.release_streams()
    assert emu.streams_completed == 0
    assert list(kept) == []  # a closed stream has nothing more
    with pytest.raises(StreamError, match="closed before its final event"):
        kept.get_final_context()
    assert session.get_context_stream(include_system_prompt=False).get_final_context().is_final


def test_close_is_idempotent_and_an_unstarted_stream_sends_nothing(
    session: Session, recallrai_emulator: Emulator
) -> None:
    with session.get_context_stream() as stream:
        pass
    stream.close()
    assert recallrai_emulator.streams_started == 0
    with pytest.raises(StreamError):
        stream.get_final_context()


def test_plain_for_and_next_still_work(session: Session, recallrai_emulator: Emulator) -> None:
    stream = session.get_context_stream(include_system_prompt=False)
    first = next(stream)
    assert first.is_final is False
    rest = list(stream)
    assert rest[-1].is_final
    recallrai_emulator.hold_streams()
    try:
        for event in session.get_context_stream(include_system_prompt=False):
            assert event.is_final is False
            break
        poll(lambda: recallrai_emulator.streams_disconnected == 1)
    finally:
        recallrai_emulator.release_streams()


def test_get_final_context_matches_get_context(session: Session) -> None:
    expected = session.get_context(last_n_messages=1)
    assert session.get_context_stream(last_n_messages=1).get_final_context() == expected
    stream = session.get_context_stream(last_n_messages=1)
    assert next(stream).is_final is False
    assert stream.get_final_context() == expected  # from part way through


def test_get_final_context_raises_as_iteration_would(
    client: RecallrAI, session: Session, recallrai_emulator: Emulator
) -> None:
    emu = recallrai_emulator
    emu.fail_next_stream(error_message="retrieval exploded")
    with pytest.raises(StreamError, match="retrieval exploded") as caught:
        session.get_context_stream().get_final_context()
    assert caught.value.detail == "retrieval exploded"
    emu.truncate_next_stream()
    with pytest.raises(StreamError, match="ended before its final event"):
        session.get_context_stream().get_final_context()
    missing = client.get_user("streamer").get_session("nope", validate=False)
    with pytest.raises(SessionNotFoundError), missing.get_context_stream() as stream:
        stream.get_final_context()
