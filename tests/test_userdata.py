"""user_data is typed (handlers/base/userdata.py) but persisted as the plain dict it always was: rows
written before the type existed load, and what is written is the same dict."""

from __future__ import annotations

from handlers.base.flow import State
from handlers.base.userdata import Asked, RefundForm, ReturnForm, UserData

OLD_ROW = {  # a user_data row as the bot wrote it before UserData existed
    "lang": "en", "role": "seller", "market": "US", "asked_market": True, "state": "ret_order",
    "ret": {"step": 4, "order": "576482930174629381", "asking": True},
    "ref": {"case": "counterfeit", "market": "ID"},
    "recent": [{"q": "退款多久到账", "a": "refund-arrival"}, {"q": "hello", "a": None}],
    "slots": {"case": "counterfeit"}, "last_match": {"others": ["a", "b"]}, "misses": 1, "handoff_hold": 3,
    "web_menu": ["en", "US", "seller"],
}


def test_an_old_row_loads_and_is_written_back_unchanged() -> None:
    data = UserData.from_dict(OLD_ROW)
    assert data.ret == ReturnForm(step=4, order="576482930174629381", asking=True)
    assert data.ref == RefundForm(case="counterfeit", market="ID")
    assert data.recent == [Asked("退款多久到账", "refund-arrival"), Asked("hello", None)]
    assert (data.suggested, data.hold, data.state) == (["a", "b"], 3, State.RET_ORDER)
    assert data.web_menu == ["en", "US", "seller"]
    assert data.to_dict() == OLD_ROW


def test_unknown_keys_and_wrong_types_are_dropped_not_fatal() -> None:
    data = UserData.from_dict({"lang": 5, "ret": "x", "misses": "2", "recent": [1, {"q": "hi"}], "colour": "red"})
    assert data == UserData(recent=[Asked("hi", None)])
    assert UserData.from_dict(None) == UserData() and UserData().to_dict() == {}


def test_states_are_persisted_as_plain_strings() -> None:
    data = UserData(state=str(State.RET))
    assert type(data.to_dict()["state"]) is str


def test_recent_questions_keep_the_last_five_for_the_agents_card() -> None:
    data = UserData()
    for n in range(7):
        data.remember(f"q{n}" + "x" * 400, None if n % 2 else f"e{n}")
    assert [a.q[:2] for a in data.recent] == ["q2", "q3", "q4", "q5", "q6"] and len(data.recent[0].q) == 300
