"""WordNet synonym-replacement views: counts, determinism, case, stop words, cache, real WordNet."""
from __future__ import annotations

import json
import random

import pytest

from lcl_repro.data import augment
from lcl_repro.data.augment import (AugmentStats, augment_texts, augmentation_stats, replace_words, synonym_replace,
                                    text_rng)
from lcl_repro.errors import UserError

VOCAB = {"happy": ("glad", "felicitous"), "dog": ("domestic_dog", "canis-familiaris", "dog"), "run": ("run", "sprint"),
         "big": ("large",), "house": ("home",), "the": ("thee",), "i": ("iodine",), "is": ("exist",),
         "in": ("inch",), "not": ("non",)}


def synonyms(word):
    return VOCAB.get(word, ())


def anything(word):
    return ("x" + word,)


def changed(a, b):
    wa, wb = augment.WORD.findall(a), augment.WORD.findall(b)
    assert len(wa) == len(wb)
    return sum(x != y for x, y in zip(wa, wb))


TEN = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"


@pytest.mark.parametrize("p, min_words, max_words, expected", [
    (0.3, 1, None, 3), (0.5, 1, None, 5), (1.0, 1, None, 10), (0.05, 1, None, 1),  # floor(p * n), at least 1
    (0.05, 0, None, 0), (0.9, 1, 2, 2), (0.3, 4, None, 4), (0.3, 4, 2, 2)])  # min/max clamps, max wins
def test_word_count_follows_p_min_and_max(p, min_words, max_words, expected):
    for seed in range(5):
        out = synonym_replace(TEN, random.Random(seed), anything, p, min_words, max_words)
        assert changed(TEN, out) == expected


def test_count_is_over_replaceable_words_only():
    text = "the alpha of bravo in charlie and delta it echo is foxtrot to golf a hotel we india by juliet zzz"
    out = replace_words(text, random.Random(0), lambda w: () if w == "zzz" else anything(w), 0.3)
    assert (out.words, out.replaceable, out.changed) == (21, 10, 3)
    assert changed(text, out.text) == 3
    over_words = replace_words(text, random.Random(0), lambda w: () if w == "zzz" else anything(w), 0.3,
                               count_over="words")
    assert over_words.changed == 6 and changed(text, over_words.text) == 6  # floor(0.3 * 21)
    assert replace_words("alpha bravo", random.Random(0), anything, 1.0, count_over="words").changed == 2
    with pytest.raises(ValueError, match="count_over"):
        replace_words(text, random.Random(0), anything, count_over="tokens")


def test_deterministic_per_seed_and_differs_across_seeds():
    text = "happy dog run big house " * 4
    assert synonym_replace(text, random.Random(3), synonyms, 0.5) == \
        synonym_replace(text, random.Random(3), synonyms, 0.5)
    assert len({synonym_replace(text, random.Random(s), synonyms, 0.5) for s in range(10)}) > 5
    assert text_rng(1, 7).random() == text_rng(1, 7).random() != text_rng(2, 7).random()


def test_case_pattern_and_multiword_synonyms():
    outs = {synonym_replace("HAPPY Happy happy Dog DOG", random.Random(s), synonyms, 1.0) for s in range(20)}
    for out in outs:
        words = out.split(" ")
        assert words[0] in ("GLAD", "FELICITOUS") and words[1] in ("Glad", "Felicitous")
        assert words[2] in ("glad", "felicitous")
    assert any("Domestic dog" in o for o in outs) and any("CANIS FAMILIARIS" in o for o in outs)  # _ and - -> spaces
    assert not any(" Dog" in o.replace("Domestic dog", "") for o in outs)  # the word itself is no candidate


def test_stop_words_never_replaced_and_text_kept_verbatim():
    text = "The dog, I think, is NOT in the  big house!\t(really) 21st USER_MENTION café"
    for seed in range(10):
        out = synonym_replace(text, random.Random(seed), synonyms, p=1.0)
        assert out.startswith("The ") and ", I think, is NOT in the  " in out
        assert out.endswith("!\t(really) 21st USER_MENTION café")  # spacing, punctuation, non-words untouched
        assert "big" not in out and "house" not in out and "dog" not in out.replace("domestic dog", "")


def test_words_without_synonyms_stay():
    assert synonym_replace("zzz qqq, the i", random.Random(0), synonyms) == "zzz qqq, the i"
    assert synonym_replace("", random.Random(0), synonyms) == ""
    out = replace_words("run zzz", random.Random(0), synonyms, p=1.0)
    assert out.text == "sprint zzz" and out.replaceable == 1  # "run" is dropped from its own candidates


def test_views_do_not_depend_on_processing_order(tmp_path):
    texts = [f"happy dog {i} big house run" for i in range(6)]
    full = augment_texts(texts, seed=5, cache_dir=tmp_path, cache_key="full", synonyms=synonyms)
    part = augment_texts(texts[:3], seed=5, cache_dir=tmp_path, cache_key="part", synonyms=synonyms)
    assert part == full[:3]
    assert augment_texts(texts, seed=6, cache_dir=tmp_path, cache_key="full", synonyms=synonyms) != full


def test_cache_hit_skips_the_synonym_source(tmp_path):
    calls = {"n": 0}

    def counting(word):
        calls["n"] += 1
        return synonyms(word)

    texts = ["happy big", "big house", "I run", "nothing here"]  # 2 + 2 + 1 + 0 replaceable of 8 words
    first, stats = augment_texts(texts, seed=1, cache_dir=tmp_path, cache_key="toy/train", synonyms=counting,
                                 source="toy", return_stats=True)
    n = calls["n"]
    assert n > 0
    again, stats_again = augment_texts(texts, seed=1, cache_dir=tmp_path, cache_key="toy/train", synonyms=counting,
                                       source="toy", return_stats=True)
    assert again == first and stats_again == stats and calls["n"] == n
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and files[0].name.startswith("toy_train-") and not list(tmp_path.glob(".*.tmp"))
    stored = json.loads(files[0].read_text())
    assert stored["texts"] == first and stored["meta"]["seed"] == 1 and stored["meta"]["source"] == "toy"
    assert stats == AugmentStats(texts=4, changed_share=0.75, identical=1, mean_word_change=1.5 / 4,
                                 mean_replaceable_change=2 / 3, replaceable_share=5 / 8)
    assert augmentation_stats(texts, first) == {"changed_share": 0.75, "identical": 1, "mean_word_change": 1.5 / 4}

    augment_texts(texts, seed=2, cache_dir=tmp_path, cache_key="toy/train", synonyms=counting, source="toy")
    assert len(list(tmp_path.glob("*.json"))) == 2  # another seed, another file
    edited = augment_texts(texts[:3] + ["happy house"], seed=1, cache_dir=tmp_path, cache_key="toy/train",
                           synonyms=counting, source="toy")
    assert edited[3] != "happy house" and calls["n"] > n  # same key, other inputs: recomputed, not served stale
    files[0].write_text("{not json")
    assert augment_texts(texts, seed=1, cache_dir=tmp_path, cache_key="toy/train", synonyms=counting,
                         source="toy") == first  # a corrupt file is rewritten


def test_missing_wordnet_is_a_user_error(monkeypatch):
    import nltk
    import nltk.corpus

    def not_found(*args, **kwargs):
        raise LookupError("Resource wordnet not found.")

    class Missing:
        ensure_loaded = staticmethod(not_found)

    monkeypatch.setattr(nltk.data, "find", not_found)
    with pytest.raises(UserError, match="setup_wordnet.sh"):
        augment.wordnet_version()
    monkeypatch.setattr(nltk.corpus, "wordnet", Missing())
    augment.wordnet_synonyms.cache_clear()
    try:
        with pytest.raises(UserError, match="make setup"):
            augment.wordnet_synonyms()
    finally:
        augment.wordnet_synonyms.cache_clear()


@pytest.fixture(scope="module")
def wordnet():
    try:
        return augment.wordnet_synonyms()
    except UserError as err:
        pytest.skip(f"real WordNet not installed here ({err})")


SENTENCES = """\
I feel so sad and lonely since my best friend moved away to another city.
My boss yelled at me in front of everyone and I was furious for the whole day.
We finally got the keys to our new house and the kids were thrilled.
The dog barked all night and I could not sleep at all.
She was terrified when the plane started shaking during the storm.
I am grateful that my family supported me through a difficult year.
He lied to me about the money and I felt betrayed and angry.
Walking alone through the dark parking lot made me nervous.
Our team won the championship after a long and exhausting season.
I was embarrassed when I forgot the words during my speech.
The movie was boring and the actors seemed tired of their roles.
My grandmother baked fresh bread every Sunday morning when I was young.
I hope the interview goes well because I really need this job.
The doctor said the results were fine and I cried with relief.
Someone stole my bike from outside the library yesterday afternoon.
I was proud of my daughter when she graduated from college.
The neighbours played loud music until three in the morning again.
He surprised me with tickets to see my favourite band live.
I felt guilty for missing my brother's birthday party last week.
The smell of the rotten food in the fridge was disgusting.""".splitlines()


@pytest.mark.slow
def test_real_wordnet_synonyms(wordnet):
    assert "deplorable" in wordnet("sad") and "sad" not in wordnet("sad")
    assert "furious" in wordnet("angry") and list(wordnet("angry")) == sorted(wordnet("angry"))
    assert "domestic dog" in wordnet("dogs") and "dog" not in wordnet("dogs")  # lemmatised; base form excluded
    assert wordnet("qzxv") == () and augment.wordnet_version() == wordnet.version == "3.0"
    out = synonym_replace("Sad", random.Random(0), wordnet)
    assert out != "Sad" and out[0].isupper() and out.lower() in wordnet("sad")


@pytest.mark.slow
def test_real_wordnet_sample_changes_about_p_of_the_replaceable_words(wordnet, tmp_path):
    views, stats = augment_texts(SENTENCES, seed=0, cache_dir=tmp_path, cache_key="sample", return_stats=True)
    assert len(views) == 20 and stats.changed_share == 1.0 and stats.identical == 0
    # floor(0.3 n) of the n replaceable words, at least one: below 0.3 on short sentences (floor)
    assert 0.2 <= stats.mean_replaceable_change <= 0.4
    assert 0.08 <= stats.mean_word_change <= 0.25 and 0.3 <= stats.replaceable_share <= 0.8
    for i, (text, view) in enumerate(zip(SENTENCES, views)):
        counts = replace_words(text, text_rng(0, i), wordnet)
        assert counts.text == view and counts.changed == max(1, int(0.3 * counts.replaceable))
        assert view[-1] == "." and view[0].isupper()
