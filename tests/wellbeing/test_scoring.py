"""Scoring keys against hand-worked examples, reverse keys included; the registry as data."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from wellbeing.instruments import Instrument, content_hash, latest, parse, registry
from wellbeing.scoring import ScoringError, score


def _instrument(key: str) -> Instrument:
    found = latest(key)
    assert found is not None
    return found


def test_pulse_reverses_stress_and_exposure_in_wellbeing_but_not_in_load() -> None:
    pulse = _instrument("pulse")
    scored = score(pulse, {"mood": 4, "stress": 5, "exposure": 4, "supported": 2, "sleep": 3})
    # wellbeing = 4 + (6-5) + (6-4) + 2 + 3 = 12; load = 5 + 4 = 9
    assert scored.scores == {"wellbeing": 12, "load": 9}
    assert scored.bands == {"wellbeing": "getting_by", "load": "heavy"}
    assert scored.band == "getting_by"


@pytest.mark.parametrize(
    ("answers", "wellbeing", "band"),
    [
        ({"mood": 1, "stress": 5, "exposure": 5, "supported": 1, "sleep": 1}, 5, "struggling"),
        ({"mood": 2, "stress": 3, "exposure": 3, "supported": 2, "sleep": 3}, 13, "getting_by"),
        ({"mood": 4, "stress": 2, "exposure": 3, "supported": 4, "sleep": 3}, 18, "getting_by"),
        ({"mood": 4, "stress": 2, "exposure": 2, "supported": 4, "sleep": 3}, 19, "doing_well"),
    ],
)
def test_pulse_band_edges(answers: dict[str, int], wellbeing: int, band: str) -> None:
    scored = score(_instrument("pulse"), answers)
    assert scored.scores["wellbeing"] == wellbeing
    assert scored.band == band


def test_proqol5_hand_worked_with_burnout_reverse_keys() -> None:
    # Item i is answered ((i - 1) mod 5) + 1: 1, 2, 3, 4, 5, 1, 2, ...
    answers = {str(i): (i - 1) % 5 + 1 for i in range(1, 31)}
    scored = score(_instrument("proqol5"), answers)
    # CS items 3,6,12,16,18,20,22,24,27,30 -> 3+1+2+1+3+5+2+4+2+5 = 28
    # BO items 1*,4*,8,10,15*,17*,19,21,26,29* (reversed 6-x)
    #   -> 5+2+3+5+1+4+4+1+1+2 = 28 (30 if the reverse keys were ignored)
    # STS items 2,5,7,9,11,13,14,23,25,28 -> 2+5+2+4+1+3+4+3+5+3 = 32
    assert scored.scores == {
        "compassion_satisfaction": 28,
        "burnout": 28,
        "secondary_traumatic_stress": 32,
    }
    assert scored.bands == {
        "compassion_satisfaction": "moderate",
        "burnout": "moderate",
        "secondary_traumatic_stress": "moderate",
    }


def test_proqol5_all_fives_and_cut_points() -> None:
    proqol = _instrument("proqol5")
    scored = score(proqol, {str(i): 5 for i in range(1, 31)})
    # Burnout: five items 5, five reversed items 1 -> 30.
    assert scored.scores == {
        "compassion_satisfaction": 50,
        "burnout": 30,
        "secondary_traumatic_stress": 50,
    }
    cs = proqol.subscale("compassion_satisfaction")
    assert cs is not None
    lowest = {str(i): 1 for i in range(1, 31)}
    # 22 or less low, 23 to 41 moderate, 42 or more high.
    for target, band in ((22, "low"), (23, "moderate"), (41, "moderate"), (42, "high")):
        answers = dict(lowest)
        extra = target - 10
        for item in cs.items:
            step = min(4, extra)
            answers[item] = 1 + step
            extra -= step
        result = score(proqol, answers)
        assert result.scores["compassion_satisfaction"] == target
        assert result.bands["compassion_satisfaction"] == band


def test_proqol5_needs_every_item() -> None:
    answers = {str(i): 3 for i in range(1, 30)}  # item 30 (compassion satisfaction) missing
    with pytest.raises(ScoringError) as raised:
        score(_instrument("proqol5"), answers)
    assert {e["item"] for e in raised.value.errors} == {"compassion_satisfaction"}


def test_stss_hand_worked_subscales_and_bands() -> None:
    stss = _instrument("stss")
    # Odd items answered 1, even items 2.
    scored = score(stss, {str(i): 1 if i % 2 else 2 for i in range(1, 18)})
    # intrusion 2,3,6,10,13 -> 2+1+2+2+1 = 8; avoidance 1,5,7,9,12,14,17 -> 1+1+1+1+2+2+1 = 9;
    # arousal 4,8,11,15,16 -> 2+2+1+1+2 = 8; total 25.
    assert scored.scores == {"total": 25, "intrusion": 8, "avoidance": 9, "arousal": 8}
    assert scored.band == "little_or_none"
    assert all(not s.reverse for s in stss.subscales)  # the STSS has no reverse-keyed items
    assert score(stss, {str(i): 3 for i in range(1, 18)}).band == "severe"  # 51
    for total, band in (
        (27, "little_or_none"),
        (28, "mild"),
        (37, "mild"),
        (38, "moderate"),
        (43, "moderate"),
        (44, "high"),
        (48, "high"),
        (49, "severe"),
    ):
        answers = {str(i): 1 for i in range(1, 18)}
        extra = total - 17
        for i in range(1, 18):
            step = min(4, extra)
            answers[str(i)] = 1 + step
            extra -= step
        assert score(stss, answers).band == band


def test_cbi_hand_worked_with_item_13_reversed() -> None:
    cbi = _instrument("cbi")
    answers = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 1}
    answers |= {str(i): 2 for i in range(7, 13)} | {"13": 5}
    answers |= {str(i): 1 for i in range(14, 20)}
    scored = score(cbi, answers)
    # personal: (100+75+50+25+0+100)/6 = 58.33
    # work: six items at 75 and item 13 answered 5 (0 points) reversed to 100 -> 550/7 = 78.57
    # client: all 100
    assert scored.scores == {"personal": 58.33, "work_related": 78.57, "client_related": 100}
    assert scored.bands == {
        "personal": "moderate",
        "work_related": "high",
        "client_related": "severe",
    }
    assert scored.band == "high"


def test_cbi_subscale_needs_three_answers() -> None:
    cbi = _instrument("cbi")
    base = {str(i): 3 for i in range(1, 14)}
    with pytest.raises(ScoringError):
        score(cbi, base | {"14": 3, "15": 3})
    scored = score(cbi, base | {"14": 3, "15": 3, "16": 4})
    assert scored.scores["client_related"] == 41.67  # (50 + 50 + 25) / 3
    assert scored.bands["client_related"] == "low"


def test_unknown_items_and_codes_are_refused() -> None:
    pulse = _instrument("pulse")
    good = {"mood": 3, "stress": 3, "exposure": 3, "supported": 3, "sleep": 3}
    with pytest.raises(ScoringError):
        score(pulse, good | {"mood": 6})
    with pytest.raises(ScoringError):
        score(pulse, good | {"extra": 1})


def test_licensed_instruments_ship_no_wording() -> None:
    for (key, _), instrument in registry().items():
        if key == "pulse":
            assert all(item.text for item in instrument.items)
            continue
        assert not instrument.wording_shipped
        assert all(item.text is None for item in instrument.items)
        assert all(scale.labels is None for scale in instrument.scales.values())
    folder = resources.files("wellbeing").joinpath("definitions")
    for entry in folder.iterdir():
        raw = json.loads(entry.read_text(encoding="utf-8"))
        if raw["key"] != "pulse":
            assert all(set(item) == {"id", "scale"} for item in raw["items"])


def test_content_hash_covers_scoring_not_wording() -> None:
    raw = json.loads(resources.files("wellbeing").joinpath("definitions/pulse.v1.json").read_text())
    original = content_hash(raw)
    assert original == _instrument("pulse").content_hash
    reworded = json.loads(json.dumps(raw))
    reworded["items"][0]["text"] = "Something else"
    assert content_hash(reworded) == original
    rekeyed = json.loads(json.dumps(raw))
    rekeyed["subscales"][0]["reverse"] = ["stress"]
    assert content_hash(rekeyed) != original
    assert parse(rekeyed).content_hash != original
