#!/usr/bin/env bash
# Make `from nltk.corpus import wordnet` work offline inside the project's venv.
#   bash scripts/setup_wordnet.sh [VENV]        (default .venv; idempotent: a second run is a no-op)
#
# Routes, first that works wins; the last line printed names the route taken:
#   already  nltk already finds a working WordNet (nothing is touched).
#   nltk     nltk.download('wordnet') into <venv>/nltk_data (needs its download host; fails fast offline).
#   debian   Debian's wordnet-base + wordnet-sense-index (apt-get; skipped when /usr/share/wordnet
#            already has the files), copied into <venv>/nltk_data/corpora/wordnet/ together with
#            `lexnames`, which Debian compiles into libwordnet instead of shipping (the table is
#            scripts/wordnet_lexnames.txt, the 45 lexicographer files of WordNet 3.0).
# nltk searches <sys.prefix>/nltk_data by default, so no NLTK_DATA is needed. Files are copied, not
# linked: nltk >= 3.10 refuses corpus paths that resolve outside its data roots.
# The POS tagger data nlpaug uses (averaged_perceptron_tagger_eng) has no offline source (no Debian or
# PyPI package ships it), so it is not installed; lcl_repro/data/augment.py works without a tagger.
set -euo pipefail
VENV=${1:-.venv}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "setup_wordnet: no python at $PY; create the venv first (make setup)" >&2; exit 1; }
DATA="$(cd "$VENV" && pwd)/nltk_data"
TARGET="$DATA/corpora/wordnet"
SRC=/usr/share/wordnet
start=$SECONDS

# Prints where nltk found WordNet and exits 0 when `wordnet.synsets('sad')` works.
check() {
  "$PY" - <<'EOF' 2>/dev/null
import nltk
from nltk.corpus import wordnet as wn
assert wn.synsets("sad")
print(nltk.data.find("corpora/wordnet"))
EOF
}
done_msg() { echo "wordnet: $1 ($((SECONDS - start)) s)"; exit 0; }

if where=$(check); then done_msg "already available at $where, nothing to do"; fi

if timeout 60 "$PY" -c "import nltk, sys; sys.exit(0 if nltk.download('wordnet', download_dir='$DATA', quiet=True, raise_on_error=False) else 1)" >/dev/null 2>&1 \
   && where=$(check); then
  done_msg "route nltk: downloaded with nltk.download into $where"
fi

have_files() { [ -f "$SRC/data.noun" ] && [ -f "$SRC/index.sense" ]; }
how="Debian packages already installed"
if ! have_files; then
  command -v apt-get >/dev/null || { echo "setup_wordnet: nltk.download failed and there is no apt-get; install WordNet 3.0 data into $TARGET by hand" >&2; exit 1; }
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { $SUDO apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index >/dev/null 2>&1; }
  # A fresh machine has empty package lists: update only when the first try cannot find the packages.
  apt_install || { $SUDO apt-get update -qq >/dev/null && apt_install; } \
    || { echo "setup_wordnet: apt-get install wordnet-base wordnet-sense-index failed" >&2; exit 1; }
  have_files || { echo "setup_wordnet: the Debian packages did not provide $SRC/data.noun and index.sense" >&2; exit 1; }
  how="installed wordnet-base + wordnet-sense-index with apt-get"
fi
mkdir -p "$TARGET"
for f in "$SRC"/*; do [ -f "$f" ] && cp -f "$f" "$TARGET/"; done
cp -f "$HERE/wordnet_lexnames.txt" "$TARGET/lexnames"
where=$(check) || { echo "setup_wordnet: staged $SRC into $TARGET but nltk still cannot read WordNet" >&2; exit 1; }
done_msg "route debian: $how, staged into $where"
