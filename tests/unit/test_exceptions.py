"""The exception classes themselves (recallrai.exceptions): defaults, texts and parsed fields."""

from __future__ import annotations

import pytest

from recallrai import exceptions as exc

DETAIL = {"detail": "kept"}


def test_base_error_keeps_message_status_and_detail():
    error = exc.RecallrAIError("went wrong", 418, detail=DETAIL)
    assert (error.message, error.http_status, error.detail) == ("went wrong", 418, DETAIL)
    assert error.args == ("went wrong",)
    assert str(error) == "went wrong. HTTP Status: 418."
    assert repr(error) == "RecallrAIError('went wrong', http_status=418)"
    bare = exc.RecallrAIError("no answer")
    assert (str(bare), bare.http_status, bare.detail) == ("no answer", None, None)
    assert repr(bare) == "RecallrAIError('no answer', http_status=None)"


def test_messages_of_up_to_500_characters_are_kept_whole():
    assert exc.RecallrAIError("x" * 500).message == "x" * 500


def test_longer_messages_are_cut_and_say_how_long_they_were():
    error = exc.RecallrAIError("x" * 501 + "tail")
    assert error.message == "x" * 470 + "... (505 characters)"
    assert error.args == (error.message,)
    assert exc.RecallrAIError("y" * 12_345).message.endswith("... (12,345 characters)")


def test_authentication_error_defaults():
    error = exc.AuthenticationError()
    assert error.message == "Invalid API key or authentication failed."
    assert (error.http_status, error.detail) == (401, None)
    assert exc.AuthenticationError("m", 403, detail=DETAIL).detail == DETAIL


def test_rate_limit_error_defaults_and_fields():
    error = exc.RateLimitError("slow down")
    assert (error.http_status, error.detail, error.retry_after) == (429, None, None)
    error = exc.RateLimitError("slow down", detail=DETAIL, retry_after=2.5)
    assert (error.http_status, error.detail, error.retry_after) == (429, DETAIL, 2.5)


def test_invalid_categories_error_defaults_and_fields():
    error = exc.InvalidCategoriesError("bad")
    assert (error.http_status, error.detail, error.invalid_categories) == (400, None, [])
    categories = ["a", "b"]
    error = exc.InvalidCategoriesError("bad", invalid_categories=categories, detail=DETAIL)
    assert (error.http_status, error.detail, error.invalid_categories) == (400, DETAIL, ["a", "b"])
    assert error.invalid_categories is not categories


@pytest.mark.parametrize(
    "cls",
    [
        exc.MergeConflictInvalidQuestionsError,
        exc.MergeConflictMissingAnswersError,
        exc.MergeConflictInvalidAnswerError,
    ],
)
def test_merge_conflict_refusals_default_to_400_and_keep_the_detail(cls):
    assert cls("text").http_status == 400
    error = cls("text", 409, detail=DETAIL)
    assert (error.http_status, error.detail) == (409, DETAIL)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Invalid questions provided. original questions: ['a', 'b']", ["a", "b"]),
        ("Invalid questions provided. original questions: ['a', 'b'].", ["a", "b"]),
        ("Invalid questions provided. original questions: ['a.']  .  ", ["a."]),
        # the last marker counts: a question may itself contain the marker's words
        (
            "Invalid questions provided ['original questions: x']. original questions: ['q']",
            ["q"],
        ),
        ("Invalid questions provided. original questions: [1, 'a']", []),
        ("Invalid questions provided. original questions: 'a'", []),
        ("Invalid questions provided. original questions: [", []),
        ("Invalid questions provided.", []),
    ],
)
def test_invalid_questions_are_parsed_from_the_message(message, expected):
    assert exc.MergeConflictInvalidQuestionsError(message).invalid_questions == expected


def test_missing_answers_are_parsed_from_the_last_marker():
    error = exc.MergeConflictMissingAnswersError(
        "Missing answers for the following questions: ['q1', 'q2']."
    )
    assert error.missing_questions == ["q1", "q2"]
    assert exc.MergeConflictMissingAnswersError("nothing here").missing_questions == []


def test_invalid_answer_fields():
    error = exc.MergeConflictInvalidAnswerError(
        "Invalid answer 'maybe' for question 'Which?'. Valid options are: ['yes', 'no']."
    )
    assert (error.answer, error.question, error.valid_options) == ("maybe", "Which?", ["yes", "no"])
    unparsed = exc.MergeConflictInvalidAnswerError("Invalid answer")
    assert (unparsed.answer, unparsed.question, unparsed.valid_options) == (None, None, [])
