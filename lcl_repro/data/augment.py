"""WordNet synonym-replacement views for LCL batches (Suresh & Ong 2021 §4; methods.md §6.2).

Behaviour follows the authors' augmenter (nlpaug `SynonymAug(aug_src="wordnet")`, aug_p = 0.3):
floor(p * words) words (at least `min_words`, at most `max_words`) are replaced by a synonym drawn
uniformly from WordNet lemmas different from the word; underscores and hyphens in lemmas become
spaces; the word's capitalisation pattern is re-applied. Deliberate differences, recorded here:

* No part-of-speech tagger: NLTK's tagger data cannot be installed offline, so synonyms come from
  every synset of the word (all parts of speech). Function words (determiners, pronouns,
  auxiliaries, prepositions, conjunctions) are never replaced — nlpaug excludes determiners via
  the tagger; the fixed list covers them and avoids its "I" -> "Iodin" artefacts.
* Words are chosen among those that have a synonym, so about p of the replaceable words change
  (nlpaug picks first and leaves synonym-less picks unchanged, changing fewer).
* The original spacing and punctuation are kept (nlpaug re-joins tokens with spaces).

Views are computed once per (dataset content, seed, settings), for the training split only, and
cached on disk as JSON; each text has its own RNG derived from (seed, index), so a view never
depends on batch order.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
from pathlib import Path
from typing import Callable, Sequence

from tqdm.auto import tqdm

from lcl_repro.errors import UserError
from lcl_repro.track.files import write_json

AUGMENTER_VERSION = 1
WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
STOP_WORDS = frozenset("""
a an the this that these those some any each every either neither no all both half such what which whose
i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves one
am is are was were be been being have has had having do does did doing will would shall should can could
may might must ought
of at by for with about against between into through during before after above below to from up down in
out on off over under again further then once and but if or because as until while nor so than too very
not only own same just s t don't can't won't isn't aren't wasn't weren't i'm it's
""".split())


def case_like(template: str, word: str) -> str:
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def synonym_replace(text: str, rng: random.Random, synonyms: Callable[[str], Sequence[str]], p: float = 0.3,
                    min_words: int = 1, max_words: int | None = None) -> str:
    """One augmented view of `text` (pure: the same rng state gives the same view)."""
    matches = list(WORD.finditer(text))
    target = max(min_words, math.floor(p * len(matches)))
    if max_words is not None:
        target = min(target, max_words)
    candidates = [m for m in matches if m.group().lower() not in STOP_WORDS and synonyms(m.group().lower())]
    chosen = sorted(rng.sample(candidates, min(target, len(candidates))), key=lambda m: m.start())
    out, last = [], 0
    for m in chosen:
        word = m.group()
        out += [text[last:m.start()], case_like(word, rng.choice(list(synonyms(word.lower()))))]
        last = m.end()
    return "".join(out) + text[last:]


@functools.lru_cache(maxsize=1)
def wordnet_synonyms() -> Callable[[str], tuple[str, ...]]:
    """word -> sorted WordNet lemma names (all synsets of all its base forms), the word excluded."""
    try:
        from nltk.corpus import wordnet as wn

        wn.ensure_loaded()
    except LookupError as err:
        raise UserError("WordNet data for nltk is missing; run `make setup` "
                        "(or `bash scripts/setup_wordnet.sh .venv`)") from err

    @functools.lru_cache(maxsize=None)
    def lookup(word: str) -> tuple[str, ...]:
        names = set()
        for synset in wn.synsets(word):
            for lemma in synset.lemma_names():
                name = re.sub(r"[_-]+", " ", lemma).lower()
                if name != word:
                    names.add(name)
        return tuple(sorted(names))

    return lookup


def cache_path(cache_dir: Path, cache_key: str, seed: int, p: float, max_words: int | None, source: str) -> Path:
    blob = json.dumps([cache_key, seed, p, max_words, source, AUGMENTER_VERSION])
    return Path(cache_dir) / f"{cache_key[:40]}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.json"


def augment_texts(texts: Sequence[str], *, seed: int, p: float = 0.3, max_words: int | None = None,
                  cache_dir: Path, cache_key: str, synonyms: Callable[[str], Sequence[str]] | None = None,
                  source: str = "wordnet", progress: bool | None = None) -> list[str]:
    """One view per text, cached on disk (JSON, atomic write). `synonyms` defaults to WordNet;
    pass another callable (and a `source` name for the cache key) to inject a vocabulary."""
    path = cache_path(cache_dir, cache_key, seed, p, max_words, source)
    if path.exists():
        stored = json.loads(path.read_text())
        if len(stored["texts"]) == len(texts):
            return stored["texts"]
    lookup = synonyms or wordnet_synonyms()
    views = [synonym_replace(t, random.Random(f"{seed}:{i}"), lookup, p, 1, max_words)
             for i, t in enumerate(tqdm(texts, desc="WordNet views", disable=not progress if progress is not None else None,
                                        leave=False))]
    write_json(path, {"meta": {"seed": seed, "p": p, "max_words": max_words, "source": source,
                               "version": AUGMENTER_VERSION}, "texts": views})
    return views


def augmentation_stats(texts: Sequence[str], views: Sequence[str]) -> dict[str, float]:
    """How much the views differ: share of texts changed and mean share of words replaced (over
    pairs whose word count is unchanged, as in methods.md §6.2)."""
    changed, shares = 0, []
    for a, b in zip(texts, views):
        changed += a != b
        wa, wb = WORD.findall(a), WORD.findall(b)
        if wa and len(wa) == len(wb):
            shares.append(sum(x != y for x, y in zip(wa, wb)) / len(wa))
    return {"changed_share": changed / max(len(texts), 1), "identical": len(texts) - changed,
            "mean_word_change": sum(shares) / max(len(shares), 1)}
