"""WordNet synonym-replacement views for LCL batches (Suresh & Ong 2021 §4.2; docs/objectives.md#lcl-batches-and-wordnet-views).

The authors made one augmented copy of every training text with nlpaug
`SynonymAug(aug_src="wordnet")` (aug_p = 0.3, aug_min = 1, aug_max = 10). This module re-implements
that behaviour from its description (no nlpaug code):

* A *word* is a run of ASCII letters, optionally with inner apostrophes (``don't``), not glued to
  digits or underscores (``21st``, ``USER_MENTION`` and ``caf\u00e9`` are left alone).
* A word is *replaceable* when it is at least two letters long, is not in `STOP_WORDS`, and the
  synonym source gives at least one candidate different from it.
* floor(p * replaceable words), clamped to [min_words, max_words] and to the number available,
  distinct replaceable positions are drawn uniformly; each gets a synonym drawn uniformly from its
  candidates. Candidates are lower-cased, ``_``/``-`` become spaces, duplicates and the word itself
  are dropped. The word's case pattern is re-applied: ``UPPER`` -> ``UPPER``, ``Title`` -> ``Title``,
  anything else -> lower case.
* The text outside the replaced words is kept byte for byte (spacing, punctuation, emoji).

Deliberate differences from nlpaug, recorded for the run record and docs/objectives.md#lcl-batches-and-wordnet-views:

* **No part-of-speech tagger.** nlpaug tags with NLTK's ``averaged_perceptron_tagger_eng`` and takes
  synonyms only from synsets of that part of speech. That data has no offline source (nltk.download
  needs its host; no Debian or PyPI package ships it), so candidates come from every synset of the
  word, all parts of speech (``wordnet_synonyms``).
* **Function words are never replaced** (`STOP_WORDS`). nlpaug skips only determiners (POS ``DT``);
  without a tagger the fixed list stands in for that and also covers pronouns, auxiliaries, modals,
  prepositions, conjunctions, negation and a few tweet forms, whose WordNet "synonyms" are noise
  (``I`` -> ``iodine``, ``in`` -> ``inch``, ``us`` -> ``United States``, ``can`` -> ``tin``, ``still`` ->
  ``distillery``). Words of one letter are never replaced either.
* **Only replaceable words are drawn, and by default the count is taken over them.** nlpaug takes
  floor(p * tokens), punctuation included, draws among all non-determiners, and leaves a drawn word
  without synonyms unchanged, so it changes fewer than p of the words; the paper's pickles show
  0.16-0.18 of words changed on EmoInt/ISEAR (0.32 on SST). Here exactly floor(p * replaceable)
  words change (`count_over="replaceable"`): on 200 cleaned EmoInt training tweets that is 0.27 of
  the replaceable words and 0.14 of all words. `count_over="words"` takes floor(p * all words)
  instead, the paper's literal "replace 30 % of the words" (0.27 of all words on the same tweets).
  A text with at least one replaceable word always changes (min_words = 1).
* **Original spacing is kept.** nlpaug re-joins its tokens with single spaces (``wasn ' t``),
  which changes the tokenisation of untouched words too; keeping the text makes the two views
  differ only in the replaced words.
* ``max_words`` defaults to None (no cap): the pickles that produced the paper's numbers show up to
  38 replaced words in one sentence, so nlpaug's aug_max = 10 was evidently not in force.

Views are computed once per (dataset content, seed, settings), for the training split only, and
cached on disk as JSON (atomic write). Each text has its own RNG derived from (seed, index), so a
view never depends on the order in which texts are processed.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
import random
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from tqdm.auto import tqdm

from lcl_repro.errors import UserError
from lcl_repro.track.files import write_json

COUNT_OVER = ("replaceable", "words")
AUGMENTER_VERSION = 2  # bump when the views for the same inputs would change (invalidates caches)
PROGRESS_MIN_TEXTS = 2000  # show a progress bar only for at least this many texts
SETUP_HINT = "run `make setup` (or `bash scripts/setup_wordnet.sh .venv`)"

WORD = re.compile(r"(?<!\w)[A-Za-z]+(?:['\u2019][A-Za-z]+)*(?!\w)")
SEPARATORS = re.compile(r"[\s_\-]+")

# Words never replaced (compared lower-case, curly apostrophes folded to straight ones).
STOP_WORDS = frozenset("""
a an the this that these those some any each every either neither no another all both half such what
which whatever whichever whose
i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she
her hers herself it its itself they them their theirs themselves one someone somebody something anyone
anybody anything everyone everybody everything nobody nothing who whom
am is are was were be been being have has had having do does did doing done will would shall should can
could may might must ought
of at by for with about against between into through during before after above below to from up down in
out on off over under again further across along around among upon within without via per onto
and but if or because as until while nor so than too very not only own same just then once there here
when where why how also yet still even ever
i'm i've i'd i'll you're you've you'll you'd he's she's it's we're we've we'll they're they've they'll
that's there's what's let's don't doesn't didn't can't cannot won't wouldn't shouldn't couldn't isn't
aren't wasn't weren't haven't hasn't hadn't
im ive dont cant wont didnt doesnt isnt u ur
url
""".split())

SynonymSource = Callable[[str], Sequence[str]]


class Replacement(NamedTuple):
    """One view and how it was made."""
    text: str
    words: int  # words in the text
    replaceable: int  # words that could have been replaced
    changed: int  # words replaced


def match_case(template: str, word: str) -> str:
    """`word` (lower case) with the case pattern of `template`: UPPER, Title or lower."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def is_stop_word(word: str) -> bool:
    return len(word) < 2 or word.lower().replace("\u2019", "'") in STOP_WORDS


def clean_candidates(word: str, names: Sequence[str]) -> list[str]:
    """Lower-cased synonyms with `_`/`-` as spaces, without duplicates or `word` itself (order kept)."""
    word = word.lower()
    out: dict[str, None] = {}
    for name in names:
        name = SEPARATORS.sub(" ", name.lower()).strip()
        if name and name != word:
            out.setdefault(name)
    return list(out)


def replace_words(text: str, rng: random.Random, synonyms: SynonymSource, p: float = 0.3,
                  min_words: int = 1, max_words: int | None = None, count_over: str = "replaceable") -> Replacement:
    """`synonym_replace` plus the counts behind it (for coverage statistics)."""
    if count_over not in COUNT_OVER:
        raise ValueError(f"count_over must be one of {COUNT_OVER}, not {count_over!r}")
    matches = list(WORD.finditer(text))
    options: dict[str, list[str]] = {}
    slots = []  # (match, candidates) of the replaceable words, in text order
    for m in matches:
        word = m.group()
        if is_stop_word(word):
            continue
        key = word.lower()
        if key not in options:
            options[key] = clean_candidates(key, synonyms(key))
        if options[key]:
            slots.append((m, options[key]))
    base = len(slots) if count_over == "replaceable" else len(matches)
    count = max(min_words, math.floor(p * base + 1e-9))
    if max_words is not None:
        count = min(count, max_words)
    count = max(0, min(count, len(slots)))
    chosen = sorted(rng.sample(range(len(slots)), count))
    out, last = [], 0
    for i in chosen:
        m, candidates = slots[i]
        out += [text[last:m.start()], match_case(m.group(), rng.choice(candidates))]
        last = m.end()
    return Replacement("".join(out) + text[last:], len(matches), len(slots), count)


def synonym_replace(text: str, rng: random.Random, synonyms: SynonymSource, p: float = 0.3,
                    min_words: int = 1, max_words: int | None = None, count_over: str = "replaceable") -> str:
    """One augmented view of `text`: floor(p * n) words, clamped to [min_words, max_words] and to
    the replaceable words available, replaced by a synonym from `synonyms(word_lower_case)`; n counts
    the replaceable words (`count_over="replaceable"`) or all words (`"words"`, the paper's literal
    "30 % of the words"). Pure: the same rng state gives the same view."""
    return replace_words(text, rng, synonyms, p, min_words, max_words, count_over).text


def _missing(err: Exception) -> UserError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return UserError(f"WordNet data for nltk is missing or incomplete ({first}); {SETUP_HINT}")


def wordnet_version() -> str:
    """Version of the WordNet nltk would load ("3.0"), read from the data.adj header without loading it."""
    try:
        import nltk

        with nltk.data.find("corpora/wordnet/data.adj").open() as fh:
            head = fh.read(8192)
    except (LookupError, OSError) as err:
        raise _missing(err) from err
    if isinstance(head, str):
        head = head.encode()
    found = re.search(rb"WordNet (\d+(?:\.\d+)*) Copyright", head)
    return found.group(1).decode() if found else "unknown"


@functools.lru_cache(maxsize=1)
def wordnet_synonyms() -> Callable[[str], tuple[str, ...]]:
    """word -> sorted tuple of WordNet lemma names from every synset of every base form of the word
    (nltk's `synsets` lemmatises with morphy for each part of speech), the word and its base forms
    excluded; `_` and `-` become spaces. Loads WordNet once (a few seconds); lookups are cached."""
    try:
        from nltk.corpus import wordnet as wn

        wn.ensure_loaded()
    except (LookupError, OSError) as err:
        raise _missing(err) from err

    @functools.lru_cache(maxsize=None)
    def lookup(word: str) -> tuple[str, ...]:
        word = word.lower()
        bases = {word} | {base for pos in "nvar" if (base := wn.morphy(word, pos))}
        names = {SEPARATORS.sub(" ", lemma.lower()).strip()
                 for synset in wn.synsets(word) for lemma in synset.lemma_names()}
        return tuple(sorted(names - bases - {""}))

    lookup.version = wn.get_version()  # type: ignore[attr-defined]
    return lookup


def text_rng(seed: int, index: int) -> random.Random:
    """The RNG of text `index`: a function of (seed, index) only."""
    digest = hashlib.sha256(f"lcl-repro-augment:{seed}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def cache_path(cache_dir: Path, cache_key: str, seed: int, p: float, min_words: int, max_words: int | None,
               source: str, count_over: str = "replaceable") -> Path:
    blob = json.dumps([cache_key, seed, p, min_words, max_words, count_over, source, AUGMENTER_VERSION])
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", cache_key)[:60]
    return Path(cache_dir) / f"{stem}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.json"


def _texts_digest(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest()


def _views_digest(views: Sequence[str], stats: dict) -> str:
    """The checksum a views cache file stores of its own content (an edited view is never used)."""
    return hashlib.sha256(json.dumps([list(views), stats], sort_keys=True).encode()).hexdigest()


@dataclass
class AugmentStats:
    """Coverage of one augmentation run."""
    texts: int
    changed_share: float  # share of texts whose view differs from the text
    identical: int  # texts left unchanged (no replaceable word)
    mean_word_change: float  # mean over texts of replaced words / words
    mean_replaceable_change: float  # mean over texts with a replaceable word of replaced / replaceable
    replaceable_share: float  # replaceable words / words, over all texts (synonym coverage)

    @classmethod
    def from_counts(cls, texts: Sequence[str], views: Sequence[str], counts: Sequence[Replacement]) -> "AugmentStats":
        n = len(counts)
        words = sum(c.words for c in counts)
        with_words = [c for c in counts if c.words]
        with_slots = [c for c in counts if c.replaceable]
        return cls(texts=n, changed_share=sum(a != b for a, b in zip(texts, views)) / max(n, 1),
                   identical=sum(a == b for a, b in zip(texts, views)),
                   mean_word_change=sum(c.changed / c.words for c in with_words) / max(len(with_words), 1),
                   mean_replaceable_change=sum(c.changed / c.replaceable for c in with_slots) / max(len(with_slots), 1),
                   replaceable_share=sum(c.replaceable for c in counts) / max(words, 1))


def augment_texts(texts: Sequence[str], *, seed: int, p: float = 0.3, max_words: int | None = None,
                  cache_dir: Path, cache_key: str, synonyms: SynonymSource | None = None,
                  source: str | None = None, min_words: int = 1, count_over: str = "replaceable",
                  progress: bool | None = None,
                  return_stats: bool = False) -> list[str] | tuple[list[str], AugmentStats]:
    """One view per text (text i uses `text_rng(seed, i)`), cached on disk under `cache_dir` as JSON.

    The cache file name hashes (cache_key, seed, p, min_words, max_words, count_over, source,
    AUGMENTER_VERSION);
    `source` defaults to ``wordnet-<version>`` for the WordNet source, else to the injected callable's
    name. A hit whose stored inputs differ from `texts` is recomputed. `progress`: None shows a bar on
    a terminal only, for at least PROGRESS_MIN_TEXTS texts. With `return_stats`, also returns the
    coverage statistics (stored in the cache file too)."""
    if source is None:
        source = f"wordnet-{wordnet_version()}" if synonyms is None else \
            f"custom-{getattr(synonyms, '__qualname__', type(synonyms).__name__)}"
    if count_over not in COUNT_OVER:
        raise ValueError(f"count_over must be one of {COUNT_OVER}, not {count_over!r}")
    path = cache_path(cache_dir, cache_key, seed, p, min_words, max_words, source, count_over)
    digest = _texts_digest(texts)
    if path.exists():
        try:  # used only when the views and statistics match the checksum written with them
            stored = json.loads(path.read_text())
            if stored["meta"].get("views_sha256") != _views_digest(stored["texts"], stored["stats"]):
                damage = "its views do not match the checksum written with them"
            elif stored["meta"]["inputs_sha256"] != digest or len(stored["texts"]) != len(texts):
                damage = "it holds the views of other texts"
            else:
                views = list(stored["texts"])
                return (views, AugmentStats(**stored["stats"])) if return_stats else views
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            damage = f"it cannot be read ({type(err).__name__})"
        print(f"rebuild: {path}: {damage}; the views are recomputed", file=sys.stderr, flush=True)
    lookup = synonyms if synonyms is not None else wordnet_synonyms()
    disable = (True if len(texts) < PROGRESS_MIN_TEXTS else None) if progress is None else not progress
    counts = [replace_words(text, text_rng(seed, i), lookup, p, min_words, max_words, count_over)
              for i, text in enumerate(tqdm(texts, desc="WordNet views", disable=disable, leave=False))]
    views = [c.text for c in counts]
    stats = AugmentStats.from_counts(texts, views, counts)
    write_json(path, {"meta": {"cache_key": cache_key, "seed": seed, "p": p, "min_words": min_words,
                               "max_words": max_words, "count_over": count_over, "source": source,
                               "version": AUGMENTER_VERSION,
                               "inputs_sha256": digest, "views_sha256": _views_digest(views, asdict(stats))},
                      "stats": asdict(stats), "texts": views})
    return (views, stats) if return_stats else views


def augmentation_stats(texts: Sequence[str], views: Sequence[str]) -> dict[str, float]:
    """Coverage estimated from (text, view) pairs alone: share of texts changed, texts left identical,
    and the mean share of a text's words that were replaced (words aligned with difflib, so a
    multi-word synonym counts once; a synonym that contains the word itself is not seen).
    `augment_texts(..., return_stats=True)` gives the exact counts."""
    changed, shares = 0, []
    for a, b in zip(texts, views):
        changed += a != b
        wa = [w.lower() for w in WORD.findall(a)]
        if wa:
            wb = [w.lower() for w in WORD.findall(b)]
            blocks = difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_matching_blocks()
            kept = sum(block.size for block in blocks)
            shares.append((len(wa) - kept) / len(wa))
    return {"changed_share": changed / max(len(texts), 1), "identical": len(texts) - changed,
            "mean_word_change": sum(shares) / max(len(shares), 1)}
