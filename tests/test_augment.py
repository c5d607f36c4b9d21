"""WordNet synonym-replacement views: counts, determinism, case, stop words, cache."""
from __future__ import annotations

import random

import pytest

from lcl_repro.data import augment
from lcl_repro.data.augment import augment_texts, augmentation_stats, synonym_replace

VOCAB = {"happy": ("glad", "felicitous"), "dog": ("domestic dog", "canis familiaris"), "run": ("sprint",),
         "big": ("large",), "house": ("home",), "the": ("thee",), "i": ("iodine",)}


def synonyms(word):
    return VOCAB.get(word, ())


def changed_words(a, b):
    wa, wb = augment.WORD.findall(a), augment.WORD.findall(b)
    return sum(x != y for x, y in zip(wa, wb))


def test_share_of_words_replaced_follows_p():
    text = "happy dog run big house happy dog run big house"  # 10 words, all replaceable
    for p, expected in [(0.3, 3), (0.5, 5), (0.05, 1)]:  # floor(p * n), at least one
        out = synonym_replace(text, random.Random(0), lambda w: {"domestic dog": ()}.get(w, ("x" + w,)), p)
        assert changed_words(text, out) == expected
    capped = synonym_replace(text, random.Random(0), lambda w: ("x" + w,), 0.9, max_words=2)
    assert changed_words(text, capped) == 2


def test_deterministic_per_seed_and_differs_across_seeds():
    text = "The happy dog and the big house where I run"
    views = {synonym_replace(text, random.Random(s), synonyms, 0.5) for s in range(8)}
    assert synonym_replace(text, random.Random(3), synonyms, 0.5) == synonym_replace(text, random.Random(3), synonyms, 0.5)
    assert len(views) > 1


def test_case_stop_words_and_spacing():
    out = synonym_replace("The HAPPY Dog, I think!", random.Random(0), synonyms, p=1.0)
    assert out.startswith("The ") and " I think!" in out  # stop words untouched, punctuation kept
    assert "GLAD" in out or "FELICITOUS" in out
    assert "Domestic dog" in out or "Canis familiaris" in out
    assert synonym_replace("zzz qqq", random.Random(0), synonyms) == "zzz qqq"  # nothing replaceable


def test_cache_hit_skips_the_synonym_source(tmp_path):
    calls = {"n": 0}

    def counting(word):
        calls["n"] += 1
        return synonyms(word)

    texts = ["happy dog", "big house", "i run"]
    first = augment_texts(texts, seed=1, cache_dir=tmp_path, cache_key="toy", synonyms=counting, source="toy")
    n = calls["n"]
    again = augment_texts(texts, seed=1, cache_dir=tmp_path, cache_key="toy", synonyms=counting, source="toy")
    assert again == first and calls["n"] == n
    assert len(list(tmp_path.glob("*.json"))) == 1 and not list(tmp_path.glob(".*.tmp"))
    other = augment_texts(texts, seed=2, cache_dir=tmp_path, cache_key="toy", synonyms=counting, source="toy")
    assert len(list(tmp_path.glob("*.json"))) == 2 and len(other) == 3
    stats = augmentation_stats(texts, first)
    assert stats["changed_share"] == 1.0 and 0 < stats["mean_word_change"] <= 1


def test_real_wordnet_synonyms():
    try:
        lookup = augment.wordnet_synonyms()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"WordNet not installed ({err}); run make setup")
    assert "deplorable" in lookup("sad") and "sad" not in lookup("sad")
    assert "furious" in lookup("angry")
